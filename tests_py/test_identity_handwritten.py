"""The identity marts on a hand-written feed shaped like a product SDK's and a backend's
exports (tests_py/fixtures/identity_handwritten/: a CSV from the web SDK and a JSON Lines
file from the backend and the Android app, with truth.csv deciding every identifier's
person beforehand). Cases: anonymous browsing then signup; a browser shared by two people
who each log in (not merged; the browser and its first cookie belong to nobody); a
re-signup whose email differs by case, spaces and a +tag; two colleagues; one user in two
accounts; page views received after the identify that links them; an identify whose cookie
is on no other event; user_ids with trailing whitespace and another case; a mobile SDK
whose anonymous id equals its device id; a device id alone before login; rotated cookies
chained over two devices; an identify that sent an email before the person signed up
elsewhere; and a user_id sent as the JSON numbers 42 and 42.0 and the text "42".

Every expectation is computed here from the raw files and the truth, independently of the
SQL: an event's person (by user_id, else anonymous id, else device id), a person's first
seen time (first event carrying any of their identifiers), their account (the account of
the oldest user_id's latest event carrying one) and each account's identified people."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.contract import RAW_TABLES
from lawn.raw_reader import select_for
from lawn.segment import envelope_row
from tests_py.conftest import query, run_dbt
from tests_py.identity_harness import normal_form, read_text_csv

FIXTURE = Path(__file__).parent / "fixtures" / "identity_handwritten"
MODELS = [
    "+dim_users",
    "+dim_identifiers",
    "+dim_accounts",
    "+pii_identifiers",
    "+fct_identity_merges",
    "+fct_identity_review_queue",
]
ID_COLUMNS = ("user_id", "anonymous_id", "device_id")
KEY_COLUMNS = (*ID_COLUMNS, "email")


def _id_text(value: object) -> str:
    """An id as the feed means it: a JSON number 42.0 is the id 42."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _raw_events() -> pd.DataFrame:
    """Both raw files, read with pandas and json (not with lawn's loader), ids in normal form."""
    web = read_text_csv(FIXTURE / "raw_events" / "1_web.csv")
    lines = (FIXTURE / "raw_events" / "2_backend.jsonl").read_text().splitlines()
    backend = [json.loads(line) for line in lines]
    rows = web.to_dict("records") + backend
    events = []
    for row in rows:
        properties = row["properties"]
        properties = properties if isinstance(properties, dict) else json.loads(properties)
        event = {
            "event_id": row["event_id"],
            "occurred_at": pd.Timestamp(row["occurred_at"]).tz_convert(None),
            "account_id": row.get("account_id") or None,
            "email": normal_form(properties["email"]) if "email" in properties else None,
        }
        for column in ID_COLUMNS:
            value = row.get(column)
            event[column] = normal_form(_id_text(value)) if value not in (None, "") else None
        events.append(event)
    return pd.DataFrame(events)


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return read_text_csv(FIXTURE / "truth.csv")


@pytest.fixture(scope="module")
def owner(truth) -> dict[tuple[str, str], str]:
    """(identifier type, value) -> true person; shared identifiers map to ''."""
    return {(row.identifier_type, row.identifier_value): row.person for row in truth.itertuples()}


@pytest.fixture(scope="module")
def expected_events(owner) -> pd.DataFrame:
    """Each event with its true person: by user_id, else anonymous id, else device id."""
    events = _raw_events()

    def person(event: pd.Series) -> str | None:
        for column in ID_COLUMNS:
            if event[column] is not None and owner.get((column, event[column])):
                return owner[(column, event[column])]
        return None

    return events.assign(person=events.apply(person, axis=1))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("identity_handwritten")
    feed = work / "feed"
    shutil.copytree(FIXTURE / "raw_events", feed / "raw_events")
    shutil.copy(FIXTURE / "crm_accounts.csv", feed / "crm_accounts.csv")
    db_path = work / "identity.duckdb"
    run_dbt(["build", "--indirect-selection", "cautious", "--select", *MODELS], db_path, work, raw_dir=feed)
    return db_path


@pytest.fixture(scope="module")
def person_names(built, truth) -> dict[str, str]:
    """The build's person_id -> the truth's person, through each person's user_ids."""
    users = query(
        built, "select identifier_value, person_id from pii.pii_identifiers where identifier_type = 'user_id'"
    )
    true_users = truth[truth["identifier_type"] == "user_id"].set_index("identifier_value")["person"]
    return dict(zip(users["person_id"], users["identifier_value"].map(true_users), strict=True))


def test_every_identifier_has_its_true_person_and_nothing_else(built, truth, person_names):
    found = query(
        built,
        "select pii.identifier_type, pii.identifier_value, pii.person_id, map.resolution_rule "
        "from pii.pii_identifiers as pii inner join marts.dim_identifiers as map using (identifier_key)",
    )
    found = found.assign(person=found["person_id"].map(person_names).fillna(""))
    assert None not in person_names.values(), "every user_id is one of the truth's"
    got = set(zip(found["identifier_type"], found["identifier_value"], found["person"], strict=True))
    want = set(zip(truth["identifier_type"], truth["identifier_value"], truth["person"], strict=True))
    assert got == want, f"missing: {sorted(want - got)}\nunexpected: {sorted(got - want)}"
    rules = found.set_index(["identifier_type", "identifier_value"])["resolution_rule"]
    assert rules[("anonymous_id", "anon_c1")] == rules[("device_id", "dev_c")] == "shared_identifier"
    assert rules[("anonymous_id", "anon_p1")] == "linked_by_email"  # seen with Pia's email, no user_id


def test_only_the_resignup_merges_and_nothing_waits_for_review(built):
    merges = query(built, "select user_id_a, user_id_b, link_reason from marts.fct_identity_merges")
    expected = [{"user_id_a": "u_d1", "user_id_b": "u_d2", "link_reason": "same_email"}]
    assert merges.to_dict("records") == expected
    assert query(built, "select count(*) as n from marts.fct_identity_review_queue")["n"].item() == 0


def test_every_event_is_attributed_to_its_true_person(built, expected_events, person_names):
    attributed = query(built, "select event_id, person_id from intermediate.int_events_attributed")
    assert len(attributed) == len(expected_events), "no event lost"
    joined = expected_events.merge(attributed, on="event_id", how="left")
    got = joined["person_id"].map(person_names)
    mismatched = joined[got.fillna("-") != joined["person"].fillna("-")]
    assert mismatched.empty, mismatched[["event_id", "person", "person_id"]].to_string()


def test_person_profiles_follow_their_definitions(built, truth, expected_events, owner, person_names):
    users = query(built, "select person_id, primary_user_id, account_id, first_seen_at from marts.dim_users")
    users = users.assign(person=users["person_id"].map(person_names))
    assert sorted(users["person"]) == sorted(truth.loc[truth["person"] != "", "person"].unique())
    events = expected_events
    for person, profile in users.set_index("person").iterrows():
        mine = {(t, v) for (t, v), p in owner.items() if p == person}
        carries = events.apply(lambda e, m=mine: any((c, e[c]) in m for c in KEY_COLUMNS if e[c]), axis=1)
        assert profile["first_seen_at"] == events.loc[carries, "occurred_at"].min(), person
        user_ids = events[events["user_id"].isin({v for t, v in mine if t == "user_id"})]
        first = user_ids.sort_values(["occurred_at", "user_id"]).iloc[0]["user_id"]
        assert profile["primary_user_id"] == first, person
        with_account = user_ids[(user_ids["user_id"] == first) & user_ids["account_id"].notna()]
        latest = with_account.sort_values(["occurred_at", "account_id"]).iloc[-1]["account_id"]
        assert profile["account_id"] == latest, person
    assert users.set_index("person").loc["helen", "account_id"] == "acc_h2"  # her latest account


def test_accounts_count_every_person_active_in_them(built, expected_events, person_names):
    accounts = query(built, "select account_id, identified_people from marts.dim_accounts")
    profiles = query(built, "select person_id, account_id from marts.dim_users where account_id is not null")
    pairs = set(zip(profiles["account_id"], profiles["person_id"].map(person_names), strict=True))
    acting = expected_events.dropna(subset=["account_id", "person"])
    pairs |= set(zip(acting["account_id"], acting["person"], strict=True))
    expected = pd.Series([a for a, _ in pairs]).value_counts()
    got = accounts.set_index("account_id")["identified_people"]
    assert got[got > 0].sort_index().to_dict() == expected.sort_index().to_dict()
    assert got["acc_h1"] == got["acc_h2"] == 1  # Helen counts in both accounts she used


def test_ids_typed_as_whole_floats_land_as_integers(tmp_path):
    """Parquet from pandas (a missing value makes an id column float64) and Segment
    messages whose userId is a JSON number: 42.0 is the id 42, 4.5 stays 4.5."""
    frame = pd.DataFrame(
        {"event_id": ["e1", "e2", "e3"], "user_id": [42.0, None, 4.5], "account_id": [7.0, 8.0, None]}
    )
    frame.to_parquet(tmp_path / "raw_events.parquet")
    with duckdb.connect() as connection:
        sql, _, _ = select_for(connection, RAW_TABLES["raw_events"], tmp_path / "raw_events.parquet")
        rows = connection.execute(f"select user_id, account_id from ({sql}) order by event_id").fetchall()
    assert rows == [("42", "7"), (None, "8"), ("4.5", None)]
    for user_id, expected in ((7.0, "7"), (7, "7"), ("7.0", "7.0"), (2.5, "2.5")):
        row = envelope_row({"type": "track", "event": "Feature Used", "messageId": "m", "userId": user_id})
        assert row["user_id"] == expected
