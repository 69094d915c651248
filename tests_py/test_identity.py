"""The identity graph against the generator's planted truth: who is who, computed here in
pandas from data/truth, never from the models themselves."""

from __future__ import annotations

import itertools
import shutil

import pandas as pd
import pytest

from lawn.paths import REPO_ROOT
from tests_py.conftest import query, run_dbt


@pytest.fixture(scope="module")
def truth(small_data) -> pd.DataFrame:
    return small_data.truth["identities"].astype({"identifier_value": "string"})


@pytest.fixture(scope="module")
def identity_map(built_small) -> pd.DataFrame:
    return query(
        built_small,
        "select identifier_type, identifier_value, person_id, resolution_rule from marts.dim_identifiers",
    )


def _pairs(frame: pd.DataFrame, key: str) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for _, members in frame.groupby(key)["identifier_value"]:
        pairs |= set(itertools.combinations(sorted(members), 2))
    return pairs


def test_user_ids_resolve_to_exactly_the_true_persons(identity_map, truth):
    """Pairwise precision and recall of user_id clustering are both 1 on this data."""
    users = identity_map[identity_map["identifier_type"] == "user_id"].merge(
        truth[truth["identifier_type"] == "user_id"],
        on=["identifier_type", "identifier_value"],
        suffixes=("_predicted", "_true"),
    )
    assert len(users) == (identity_map["identifier_type"] == "user_id").sum()
    predicted, actual = _pairs(users, "person_id_predicted"), _pairs(users, "person_id_true")
    assert actual, "the data holds re-signups, so some true persons have two user_ids"
    assert predicted == actual


def test_resignups_with_a_typo_are_merged_by_the_probabilistic_step(built_small, small_data):
    persons = small_data.truth["persons"].dropna(subset=["resignup_user_id"])
    merges = query(
        built_small,
        "select user_id_a, user_id_b, link_reason, decided_at from marts.fct_identity_merges "
        "where merge_action = 'merge'",
    )
    merged = {frozenset(pair) for pair in zip(merges["user_id_a"], merges["user_id_b"], strict=True)}
    seen = set(
        query(
            built_small,
            "select identifier_value from marts.dim_identifiers where identifier_type = 'user_id'",
        )["identifier_value"]
    )
    expected = {
        frozenset((row.user_id, row.resignup_user_id))
        for row in persons.itertuples()
        if row.user_id in seen and row.resignup_user_id in seen
    }
    assert expected and expected <= merged
    assert set(merges["link_reason"]) <= {"probabilistic", "same_email", "reviewer_approved"}
    assert merges["decided_at"].notna().all(), "every merge says when its evidence existed"


def test_devices_and_cookies_point_at_their_true_person(identity_map, truth):
    """Every anonymous or device id given a person of an identified user belongs to that
    user's true person; shared devices are never given a person."""
    owners = (
        truth.groupby(["identifier_type", "identifier_value"])["person_id"].agg(set).rename("true_persons")
    )
    user_truth = truth[truth["identifier_type"] == "user_id"].set_index("identifier_value")["person_id"]
    users = identity_map[identity_map["identifier_type"] == "user_id"]
    person_truth = (
        users.assign(true_person=users["identifier_value"].map(user_truth))
        .groupby("person_id")["true_person"]
        .first()
    )
    devices = identity_map[identity_map["identifier_type"].isin(["anonymous_id", "device_id"])].join(
        owners, on=["identifier_type", "identifier_value"]
    )
    shared = devices[devices["true_persons"].map(len) > 1]
    assert len(shared) > 0 and shared["person_id"].isna().all()
    linked = devices[devices["resolution_rule"].isin(["linked_to_user", "same_device_cluster"])]
    assert len(linked) > 100
    wrong = linked[
        [
            person_truth.get(p) not in t
            for p, t in zip(linked["person_id"], linked["true_persons"], strict=True)
        ]
    ]
    assert wrong.empty, wrong.head().to_string()


def test_shared_devices_are_listed_as_conflicts(built_small, identity_map):
    conflicts = query(built_small, "select identifier_key, conflict_reason from marts.fct_identity_conflicts")
    shared = identity_map[identity_map["resolution_rule"] == "shared_identifier"]
    keys = set(shared["identifier_type"] + ":" + shared["identifier_value"])
    assert keys and keys <= set(conflicts["identifier_key"])


def test_every_multi_user_person_is_explained_by_recorded_merges(built_small):
    """The user_ids of a person are connected through the merges fct_identity_merges lists."""
    users = query(
        built_small,
        "select person_id, identifier_value as user_id from marts.dim_identifiers "
        "where identifier_type = 'user_id'",
    )
    merges = query(
        built_small, "select user_id_a, user_id_b from marts.fct_identity_merges where merge_action = 'merge'"
    )
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for a, b in zip(merges["user_id_a"], merges["user_id_b"], strict=True):
        parent[root(a)] = root(b)
    multi = [members for _, members in users.groupby("person_id")["user_id"] if len(members) > 1]
    assert multi
    for members in multi:
        assert len({root(user) for user in members}) == 1, sorted(members)


def test_attribution_share_is_reported_and_high(built_small):
    shares = query(
        built_small,
        "select sum(attributed_count) as attributed, sum(valid_count) as valid "
        "from marts.fct_data_quality_daily",
    ).iloc[0]
    counted = query(built_small, "select count(person_id) as n from marts.fct_events").iloc[0]["n"]
    assert shares["attributed"] == counted
    assert shares["attributed"] / shares["valid"] > 0.98


def test_vendor_mart_holds_no_raw_email_or_id(built_small):
    vendor = query(built_small, "select * from marts.dim_users_pseudonymous")
    users = query(
        built_small,
        "select users.person_id, users.primary_user_id, pii_users.email, users.account_id "
        "from marts.dim_users as users left join pii.pii_users as pii_users "
        "on users.person_id = pii_users.person_id",
    )
    assert not {"email", "person_id", "primary_user_id", "account_id"} & set(vendor.columns)
    values = set(vendor.astype(str).to_numpy().ravel())
    for column in ("person_id", "primary_user_id", "email", "account_id"):
        assert values.isdisjoint(set(users[column].dropna())), column


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory):
    """A copy of the project whose review-decisions seed a test may edit."""
    root = tmp_path_factory.mktemp("project_copy")
    for name in ("dbt_project.yml", "profiles.yml", "macros", "models", "seeds", "snapshots", "tests"):
        source = REPO_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    return root


def test_reviewer_decisions_apply_on_the_next_build(built_small, project_copy, small_parquet, tmp_path):
    merges = query(
        built_small,
        "select user_id_a, user_id_b from marts.fct_identity_merges where link_reason = 'probabilistic'",
    )
    rejected = merges.iloc[0]
    users = query(
        built_small,
        "select person_id, identifier_value as user_id from marts.dim_identifiers "
        "where identifier_type = 'user_id' order by user_id",
    )
    persons = users.drop_duplicates("person_id")
    approve_a, approve_b = persons.iloc[0]["user_id"], persons.iloc[1]["user_id"]
    (project_copy / "seeds" / "identity" / "identity_review_decisions.csv").write_text(
        "user_id_a,user_id_b,decision,reviewer,decided_at,note\n"
        f"{rejected.user_id_a},{rejected.user_id_b},reject,qa,2026-11-01 10:00:00,not the same person\n"
        f"{approve_a},{approve_b},approve,qa,2026-11-01 10:05:00,confirmed by support\n"
        f"{approve_a},u_nobody_typo,approve,qa,2026-11-01 10:06:00,an id no user has\n"
    )
    db_path = tmp_path / "reviewed.duckdb"
    built = run_dbt(["build"], db_path, tmp_path, raw_dir=small_parquet / "raw", project_dir=project_copy)
    # the decision naming no known user changes nothing, and the build says so (a warning)
    test = "assert_review_decisions_name_known_users"
    warned = [line for line in built.stdout.splitlines() if test in line]
    assert any("WARN 1" in line for line in warned), warned
    after = query(
        db_path,
        "select identifier_value as user_id, person_id from marts.dim_identifiers "
        "where identifier_type = 'user_id'",
    ).set_index("user_id")["person_id"]
    assert after[rejected.user_id_a] != after[rejected.user_id_b]
    assert after[approve_a] == after[approve_b]
    recorded = query(db_path, "select merge_action, link_reason from marts.fct_identity_merges")
    assert {"reject", "merge"} <= set(recorded["merge_action"])
    assert "reviewer_approved" in set(recorded["link_reason"])
