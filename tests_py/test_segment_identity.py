"""Segment identity calls as real SDKs send them (tests_py/fixtures/segment_identity/): an
identify with only a userId and an anonymousId, identify with an email, `email: null` and
`""`, a malformed email, `alias(userId, previousId)` from a cookie and from an older userId,
an iOS alias without previousId, a Segment retry of an alias, a group call, and tracks
before and after. `verdicts.csv` (each message valid, quarantined with its reason, or a
redelivery) and `truth.csv` (each identifier's person) were written by hand before the
build; the export is converted with `lawn ingest segment` and built once for the module.

Expectations are read from the export with json and pandas, not from lawn's SQL: the valid
messages, each user's latest value of each trait, the signups and the active days."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn.cli import app
from lawn.segment import envelope_row
from tests_py.conftest import query, run_dbt
from tests_py.identity_harness import normal_form, read_text_csv

FIXTURE = Path(__file__).parent / "fixtures" / "segment_identity"
MODELS = [
    "+dim_users",
    "+dim_identifiers",
    "+pii_identifiers",
    "+fct_events",
    "+fct_quarantined_events",
    "+int_activity_days",
    "+int_identity_user_traits",
]
# Segment trait names -> the plan's identify properties (lawn.segment.TRAIT_NAMES, restated)
TRAITS = {"email": "email", "firstName": "first_name", "lastName": "last_name"}
ACTIVITY_TRACKS = {"Signed Up", "Feature Used"}  # the fixture's tracks; both are activity events
runner = CliRunner()


@pytest.fixture(scope="module")
def messages() -> pd.DataFrame:
    """The export's messages in file order (line numbers from 1) with the verdicts."""
    lines = (FIXTURE / "export.jsonl").read_text().splitlines()
    frame = pd.DataFrame([json.loads(line) for line in lines])
    frame["line"] = range(1, len(frame) + 1)
    verdicts = read_text_csv(FIXTURE / "verdicts.csv").assign(line=lambda v: v["line"].astype(int))
    assert (verdicts["message_id"].tolist()) == frame["messageId"].tolist(), "verdicts.csv follows the export"
    frame = frame.merge(verdicts[["line", "verdict", "reason"]], on="line")
    # occurred_at is Segment's skew-corrected `timestamp`, else originalTimestamp (the contract)
    occurred = frame["timestamp"].fillna(frame["originalTimestamp"])
    frame["at"] = pd.to_datetime(occurred).dt.tz_convert(None)
    return frame


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return read_text_csv(FIXTURE / "truth.csv")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("segment_identity")
    raw = work / "raw"
    result = runner.invoke(app, ["ingest", "segment", str(FIXTURE / "export.jsonl"), "--out", str(raw)])
    assert result.exit_code == 0 and "28 raw events" in result.output, result.output
    shutil.copy(FIXTURE / "export.jsonl", work / "export.jsonl")  # kept next to the build for a look
    db_path = work / "segment_identity.duckdb"
    run_dbt(["build", "--indirect-selection", "cautious", "--select", *MODELS], db_path, work, raw_dir=raw)
    return db_path


@pytest.fixture(scope="module")
def person_of(built, truth) -> dict[str, str]:
    """The build's person_id -> the truth's person, through any identifier of the person."""
    found = query(built, "select identifier_type, identifier_value, person_id from pii.pii_identifiers")
    true = truth.set_index(["identifier_type", "identifier_value"])["person"]
    keys = list(zip(found["identifier_type"], found["identifier_value"], strict=True))
    pairs = {(person_id, true.get(key)) for person_id, key in zip(found["person_id"], keys, strict=True)}
    mapping = dict(pairs)
    assert len(mapping) == len(pairs), f"a person_id holds two true persons: {sorted(pairs, key=str)}"
    assert len(set(mapping.values())) == len(mapping), f"a true person split: {sorted(pairs, key=str)}"
    return mapping


def test_every_message_is_valid_quarantined_or_a_redelivery_as_written(built, messages):
    valid = query(built, "select event_id, event_name from marts.fct_events")
    quarantined = query(built, "select event_id, primary_reason_code, tracking_plan_release from "
                        "marts.fct_quarantined_events")  # fmt: skip
    raw_rows = query(built, "select count(*) as n from raw.raw_events")["n"].item()
    want_valid = messages[messages["verdict"] == "valid"]
    want_quarantined = messages[messages["verdict"] == "quarantined"]
    duplicates = messages[messages["verdict"] == "duplicate"]
    assert sorted(valid["event_id"]) == sorted(want_valid["messageId"])
    got = dict(zip(quarantined["event_id"], quarantined["primary_reason_code"], strict=True))
    assert got == dict(zip(want_quarantined["messageId"], want_quarantined["reason"], strict=True))
    assert raw_rows == len(messages) == len(valid) + len(quarantined) + len(duplicates)
    assert set(quarantined["tracking_plan_release"]) == {"2026.12.0"}
    # identify and alias are `identified` rows, whatever traits they carried
    calls = want_valid[want_valid["type"].isin(["identify", "alias"])]["messageId"]
    assert set(valid.set_index("event_id").loc[calls, "event_name"]) == {"identified"}


def test_every_identifier_has_its_true_person_and_nothing_else(built, truth, person_of):
    found = query(built, "select identifier_type, identifier_value, person_id from pii.pii_identifiers")
    found = found.assign(person=found["person_id"].map(person_of).fillna(""))
    got = set(zip(found["identifier_type"], found["identifier_value"], found["person"], strict=True))
    want = set(zip(truth["identifier_type"], truth["identifier_value"], truth["person"], strict=True))
    assert got == want, f"missing: {sorted(want - got)}\nunexpected: {sorted(got - want)}"
    persons = query(built, "select person_id from marts.dim_users")["person_id"].map(person_of)
    assert sorted(persons) == sorted(truth["person"].unique()), "one dim_users row per true person"
    # a user_id is in the user graph, an id of a person with one is linked to it (by an identify
    # without an email, by an alias), a person without one is anonymous (Eve's, Gil's second cookie)
    identified = set(truth.loc[truth["identifier_type"] == "user_id", "person"])
    want_rules = {
        (row.identifier_type, row.identifier_value): "user_graph"
        if row.identifier_type == "user_id"
        else ("linked_to_user" if row.person in identified else "anonymous")
        for row in truth.itertuples()
    }
    rules = query(
        built,
        "select pii.identifier_type, pii.identifier_value, map.resolution_rule from marts.dim_identifiers "
        "as map inner join pii.pii_identifiers as pii using (identifier_key)",
    )
    keys = zip(rules["identifier_type"], rules["identifier_value"], strict=True)
    got_rules = dict(zip(keys, rules["resolution_rule"], strict=True))
    assert got_rules == want_rules


def test_traits_are_each_traits_latest_value(built, messages):
    """Each user's latest value of each trait over its valid identify calls (an alias sends
    none): Ana's first name from her last identify, her email and last name from the one before."""
    identifies = messages[(messages["verdict"] == "valid") & messages["type"].isin(["identify", "alias"])]
    rows = []
    for message in identifies.itertuples():
        traits = message.traits if isinstance(message.traits, dict) else {}
        named = {TRAITS[key]: value for key, value in traits.items() if key in TRAITS}
        if isinstance(traits.get("name"), str) and "first_name" not in named:
            first, _, last = traits["name"].partition(" ")
            named |= {"first_name": first, "last_name": last or None}
        rows.append({"user_id": message.userId, "at": message.at, **named})
    calls = pd.DataFrame(rows).sort_values("at")
    want = {}
    for user_id, group in calls.groupby("user_id"):
        latest = {
            c: group[c].dropna().iloc[-1] if c in group and group[c].notna().any() else None
            for c in TRAITS.values()
        }
        want[user_id] = {c: normal_form(v) if v else None for c, v in latest.items()}
    got = query(
        built, "select user_id, email, first_name, last_name from intermediate.int_identity_user_traits"
    )
    got = {row.pop("user_id"): row for row in got.astype(object).where(got.notna(), None).to_dict("records")}
    assert got == want
    assert want["u_ana"] == {"email": "ana.lopez@acme.io", "first_name": "anita", "last_name": "lopez"}


def test_identify_and_alias_are_no_signup_and_no_activity(built, messages, person_of, truth):
    users = query(built, "select person_id, signed_up_at from marts.dim_users")
    owner = {(row.identifier_type, row.identifier_value): row.person for row in truth.itertuples()}
    valid = messages[messages["verdict"] == "valid"]

    def person(message) -> str:
        return owner.get(("user_id", message.userId)) or owner[("anonymous_id", message.anonymousId)]

    signups = valid[valid["event"] == "Signed Up"]
    want_signups = {person(m): m.at for m in signups.itertuples()}
    got_signups = dict(zip(users["person_id"].map(person_of), users["signed_up_at"], strict=True))
    assert {p: t for p, t in got_signups.items() if pd.notna(t)} == want_signups
    active = valid[valid["event"].isin(ACTIVITY_TRACKS)]
    want_days = {(person(m), m.at.date()) for m in active.itertuples()}
    days = query(built, "select entity_id, activity_date from intermediate.int_activity_days "
                 "where entity_type = 'user'")  # fmt: skip
    got_days = {
        (person_of[e], pd.Timestamp(d).date())
        for e, d in zip(days["entity_id"], days["activity_date"], strict=True)
    }
    assert got_days == want_days


def test_alias_mapping_follows_the_segment_spec():
    """previousId is the id that becomes userId's; without one, the message's anonymousId."""
    base = {
        "type": "alias",
        "messageId": "m",
        "userId": "u_new",
        "context": {"library": {"name": "analytics.js"}},
    }
    both = envelope_row({**base, "previousId": "anon-1", "anonymousId": "anon-9"})
    assert (both["event_name"], both["anonymous_id"], both["user_id"]) == ("identified", "anon-1", "u_new")
    assert json.loads(both["properties"]) == {}
    assert envelope_row({**base, "anonymousId": "anon-9"})["anonymous_id"] == "anon-9"
    assert envelope_row({**base, "previousId": "", "anonymousId": "anon-9"})["anonymous_id"] == "anon-9"
    assert envelope_row({**base, "previousId": 42.0})["anonymous_id"] == "42"


def test_a_raw_feed_naming_segment_calls_is_warned(tmp_path):
    """A hand-written raw file with event_name identify / alias lands (quarantined later as
    UNKNOWN_EVENT) and the load says what to do, naming the file and the counts."""
    header = (
        "event_id,event_name,schema_version,source,occurred_at,received_at,anonymous_id,user_id,properties"
    )
    rows = [
        'r1,identify,1,web,2026-10-05T09:00:00Z,2026-10-05T09:00:01Z,a1,u1,"{}"',
        'r2,alias,1,web,2026-10-05T09:01:00Z,2026-10-05T09:01:01Z,a1,u1,"{}"',
        'r3,Identify ,1,web,2026-10-05T09:02:00Z,2026-10-05T09:02:01Z,a1,u1,"{}"',
        'r4,identified,1,web,2026-10-05T09:03:00Z,2026-10-05T09:03:01Z,a1,u1,"{}"',
    ]
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "raw_events.csv").write_text("\n".join([header, *rows]) + "\n")
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.output.splitlines() if "Segment call type" in line]
    assert "raw_events.csv" in line and "1 'alias', 2 'identify'" in line and "lawn ingest segment" in line
