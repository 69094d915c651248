"""The identity graph on a hand-written feed (tests_py/fixtures/identity/) that follows the
raw envelope and the tracking plan, with its own truth file: re-signups whose email carries
a tab, an NBSP or a zero-width space, colleagues with the same full name (middle initial,
initial for the first name), two people sharing one mailbox at the same time, one person
re-using a mailbox later, a team mailbox typed once with a tab, and junk user_ids ('nan',
'N/A', 'undefined') sent from several people's browsers. The answer must agree exactly."""

from __future__ import annotations

import hashlib
import hmac
import shutil

import pandas as pd
import pytest

from lawn.paths import REPO_ROOT
from tests_py.conftest import TEST_HASH_KEY, query
from tests_py.identity_harness import (
    FIXTURE_DIR,
    build_identity,
    normal_form,
    pairwise_scores,
    read_text_csv,
    same_person_pairs,
    user_persons,
)

EVENT_COLUMNS = list(read_text_csv(FIXTURE_DIR / "raw_events.csv").columns)


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return read_text_csv(FIXTURE_DIR / "truth.csv")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> object:
    work = tmp_path_factory.mktemp("identity_fixture")
    feed = work / "feed"
    feed.mkdir()
    for name in ("raw_events.csv", "crm_accounts.csv"):
        shutil.copy(FIXTURE_DIR / name, feed / name)
    return build_identity(feed, work)


def _true_owner(truth: pd.DataFrame, identifier_type: str) -> pd.Series:
    rows = truth[truth["identifier_type"] == identifier_type]
    return rows.set_index("identifier_value")["person"]


def test_user_ids_resolve_exactly_to_the_true_persons(built, truth):
    predicted = user_persons(built)
    owner = _true_owner(truth, "user_id")
    assert set(predicted.index) == set(owner.index), "every real user_id, and nothing else"
    assert same_person_pairs(predicted) == same_person_pairs(owner)
    assert pairwise_scores(predicted, owner) == {
        "precision": 1.0,
        "recall": 1.0,
        "predicted_pairs": 4,
        "true_pairs": 4,
        "hits": 4,
    }


def test_devices_and_cookies_take_their_owners_person(built, truth):
    """Browsers that also sent junk user_ids stay their owner's, not 'shared'."""
    identifiers = query(
        built,
        "select identifier_type, identifier_value, person_id, resolution_rule "
        "from marts.dim_identifiers where identifier_type in ('device_id', 'anonymous_id')",
    )
    person_of_user = user_persons(built)
    owner_user = truth[truth["identifier_type"] == "user_id"].groupby("person")["identifier_value"].first()
    expected = truth[truth["identifier_type"].isin(["device_id", "anonymous_id"])].assign(
        expected_person=lambda frame: frame["person"].map(owner_user).map(person_of_user)
    )
    joined = expected.merge(identifiers, on=["identifier_type", "identifier_value"], how="left")
    assert (joined["person_id"] == joined["expected_person"]).all(), joined.to_string()
    assert set(joined["resolution_rule"]) == {"linked_to_user"}


def test_colleagues_and_shared_mailboxes_are_not_even_queued(built):
    """Same-name colleagues and people sharing a mailbox concurrently are decided as
    distinct; the review queue holds nobody who merely shares a first or last name."""
    scores = query(
        built,
        "select user_id_a, user_id_b, email_local_part_level, activity_level, match_decision "
        "from intermediate.int_identity_match_scores",
    ).set_index(["user_id_a", "user_id_b"])
    assert scores.loc[("u_js1", "u_js2")].tolist() == ["name_variant", "concurrent", "distinct"]
    assert scores.loc[("u_al1", "u_al2")].tolist() == ["name_variant", "concurrent", "distinct"]
    assert scores.loc[("u_oh", "u_ps")].tolist() == ["same_mailbox", "concurrent", "distinct"]
    assert scores.loc[("u_sj1", "u_sj2")].tolist() == ["typo", "sequential", "merge"]
    assert query(built, "select count(*) as n from marts.fct_identity_review_queue").iloc[0]["n"] == 0


def test_mailboxes_merge_sequential_reuse_and_cap_normalised_team_addresses(built):
    merges = query(
        built,
        "select user_id_a, user_id_b, link_reason, evidence from marts.fct_identity_merges "
        "where link_reason = 'same_email'",
    )
    assert set(zip(merges["user_id_a"], merges["user_id_b"], strict=True)) == {
        ("u_lv1", "u_lv2"),  # the same address, one after the other
        ("u_mg1", "u_mg2"),  # re-signup with a tab
        ("u_tb1", "u_tb2"),  # re-signup with an NBSP and a zero-width space
    }
    # marts show the email as its keyed hash; the restricted pii_identifiers maps it back
    conflicts = query(
        built,
        "select identifiers.identifier_value, conflicts.detail "
        "from marts.fct_identity_conflicts as conflicts inner join pii.pii_identifiers as identifiers "
        "on conflicts.identifier_key = identifiers.identifier_key",
    )
    team = conflicts[conflicts["identifier_value"] == "team@globex.io"]
    assert team["detail"].tolist() == ["seen with 3 user_ids"], "the tab variant counts too"


def test_junk_user_ids_are_missing_not_persons(built):
    """'nan', 'N/A' and 'undefined' are null markers (seeds/identity/identity_blocklist.csv,
    is_null_marker): staging reads them as missing, so they are never observed, blocklisted
    or persons, and the events that carried them have no user_id."""
    conflicts = query(
        built,
        "select identifier_key from marts.fct_identity_conflicts where conflict_reason = 'blocklisted'",
    )
    assert not set(conflicts["identifier_key"]) & {"user_id:nan", "user_id:n/a", "user_id:undefined"}
    junk = query(
        built,
        "select count(*) as n from marts.dim_identifiers "
        "where identifier_value in ('nan', 'n/a', 'undefined', 'N/A')",
    )
    assert junk.iloc[0]["n"] == 0
    events = read_text_csv(FIXTURE_DIR / "raw_events.csv")
    carried = events.loc[events["user_id"].isin(["nan", "N/A", "undefined"]), "event_id"]
    assert len(carried) >= 3
    landed = query(built, "select event_id, user_id from staging.stg_tracking__events")
    landed = landed[landed["event_id"].isin(set(carried))]
    assert len(landed) == carried.nunique() and landed["user_id"].isna().all()


# every way a junk value arrives: as written, upper-cased, padded with Unicode whitespace
def _variants(value: str) -> list[str]:
    return [value, value.upper(), f" {value}\t", f"\u00a0{value.title()}\u200b", f"{value}\r\n"]


@pytest.fixture(scope="module")
def junk_values() -> pd.DataFrame:
    """Blocklisted values with the identifier types they are junk for, plus a value that
    is only Unicode whitespace (empty once normalised)."""
    blocklist = read_text_csv(REPO_ROOT / "seeds" / "identity" / "identity_blocklist.csv")
    blocklist = blocklist[blocklist["identifier_type"] != "email"]
    expanded = [
        (kind, value)
        for value, scope in zip(blocklist["blocked_value"], blocklist["identifier_type"], strict=True)
        for kind in (("user_id", "anonymous_id", "device_id") if scope == "*" else (scope,))
    ]
    expanded += [(kind, "\u00a0\t\u200b") for kind in ("user_id", "anonymous_id", "device_id")]
    return pd.DataFrame(expanded, columns=["identifier_type", "value"])


@pytest.fixture(scope="module")
def built_with_junk(tmp_path_factory, junk_values) -> object:
    """The fixture feed plus, for every junk value in several spellings, events from three
    different people that carry it in the identifier it is junk for (on the day each
    signed up, so no one's activity pattern changes)."""
    events = read_text_csv(FIXTURE_DIR / "raw_events.csv")
    identified = events[events["event_name"] == "identified"].drop_duplicates("user_id")
    people = list(identified.head(3).itertuples())
    rows = []
    for kind, value in junk_values.itertuples(index=False):
        for spelling in _variants(value):
            for person in people:
                day = person.occurred_at[:10]  # the day they signed up: no new active days
                row = {
                    "event_id": f"junk{len(rows):05d}",
                    "event_name": "logged_in",
                    "schema_version": "1",
                    "source": "web",
                    "occurred_at": f"{day}T15:00:00Z",
                    "received_at": f"{day}T15:00:02Z",
                    "anonymous_id": person.anonymous_id,
                    "device_id": person.device_id,
                    "user_id": person.user_id,
                    "account_id": person.account_id,
                    "context": "",
                    "properties": '{"login_method":"password"}',
                }
                row[kind] = spelling
                rows.append(row)
    feed_events = pd.concat([events, pd.DataFrame(rows, columns=EVENT_COLUMNS)], ignore_index=True)
    work = tmp_path_factory.mktemp("identity_junk")
    feed = work / "feed"
    feed.mkdir()
    feed_events.to_csv(feed / "raw_events.csv", index=False)
    shutil.copy(FIXTURE_DIR / "crm_accounts.csv", feed / "crm_accounts.csv")
    return build_identity(feed, work)


def test_no_blocklisted_value_links_anything(built_with_junk, truth, junk_values):
    """Three people's events carry every junk value: none becomes a user or a person, no
    person gains or loses a user_id, no real browser turns 'shared', and each junk value
    (in the normal form, computed here in Python) is listed as blocklisted."""
    predicted = user_persons(built_with_junk)
    owner = _true_owner(truth, "user_id")
    assert set(predicted.index) == set(owner.index), "no junk value became a user"
    assert same_person_pairs(predicted) == same_person_pairs(owner)
    identifiers = query(
        built_with_junk,
        "select identifier_type, identifier_value, resolution_rule from marts.dim_identifiers "
        "where identifier_type != 'email'",
    )
    assert set(identifiers["identifier_value"]) == set(truth["identifier_value"])
    assert set(identifiers["resolution_rule"]) == {"user_graph", "linked_to_user"}
    blocked = query(
        built_with_junk,
        "select identifier_key from marts.fct_identity_conflicts where conflict_reason = 'blocklisted'",
    )
    expected = {f"{kind}:{normal_form(value)}" for kind, value in junk_values.itertuples(index=False)}
    fixture_junk = {"user_id:nan", "user_id:n/a", "user_id:undefined"}
    assert set(blocked["identifier_key"]) == expected | fixture_junk


def _conflict_counts_check(db) -> set[str]:
    """Every conflict's event_count against pandas; the conflict reasons seen."""
    observations = query(
        db,
        "select identifier_type, identifier_value, is_blocked from intermediate.int_identity_observations",
    )

    def shown(kind: str, value: str) -> str:
        if kind == "email":
            value = hmac.new(TEST_HASH_KEY.secret, value.encode(), hashlib.sha256).hexdigest()
        return f"{kind}:{value}"

    observations["shown_key"] = [
        shown(kind, value)
        for kind, value in zip(observations["identifier_type"], observations["identifier_value"], strict=True)
    ]
    counts = observations.groupby(["shown_key", "is_blocked"]).size()
    conflicts = query(
        db, "select identifier_key, conflict_reason, event_count from marts.fct_identity_conflicts"
    )
    for row in conflicts.itertuples():
        blocked = row.conflict_reason == "blocklisted"
        expected = counts.get((row.identifier_key, blocked), 0)
        assert expected > 0 and row.event_count == expected, row
    return set(conflicts["conflict_reason"])


def test_conflict_event_counts_are_the_observations_counted_in_pandas(built, built_with_junk):
    """Each conflict's event_count: its blocked observations (blocklisted) or its unblocked
    ones (shared or ambiguous identifiers, role mailboxes), counted here from every
    observation, not only the conflicted keys' (the mart counts those alone). The mart shows
    an email as its keyed hash: Python's HMAC with the test key masks the observed keys."""
    reasons = _conflict_counts_check(built) | _conflict_counts_check(built_with_junk)
    assert {"blocklisted", "shared_email"} <= reasons, reasons
