"""Erasure of a person whose user id another person's event names (tests_py/fixtures/erasure_inviter).

Zoe (usr_zoe) signs up and invites Max and Nia: their `signed_up` events carry
`invited_by_user_id` = `usr_zoe` (Nia's backend sends ` USR_Zoe`); Ola was invited by
`usr_zed`, nobody erased. After `lawn privacy erase --email` of Zoe and the rebuild, her
user id must be in no table (before the fix it stayed in raw landing, the event tables,
`marts.fct_events.properties` and the pii payloads, since only `invitee_email` and IP
addresses were redacted in others' events), the inviters' placeholders are the keyed hash
computed here with Python's `hmac`, and a re-delivery of the same file stays redacted and
reconciles. Expected counts come from pandas over the raw file."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pandas as pd
import pytest

from lawn.privacy import erase
from lawn.privacy_maps import normalize
from tests_py.conftest import TEST_HASH_KEY, query, run_dbt
from tests_py.pii_scan import scan_db

FEED = Path(__file__).parent / "fixtures" / "erasure_inviter"
ZOE_VALUES = {"usr_zoe", "a-zo-1", "zoe.quist@acme.test", "198.51.100.23"}
BUILD = ["build", "--exclude-resource-type", "unit_test"]


def _raw() -> pd.DataFrame:
    return pd.read_json(FEED / "raw_events.jsonl", lines=True, dtype=False)


def _zoe_rows(raw: pd.DataFrame) -> pd.Series:
    ids = raw["user_id"].map(lambda v: normalize(v) if isinstance(v, str) else "") == "usr_zoe"
    ids |= raw["anonymous_id"].map(lambda v: normalize(v) if isinstance(v, str) else "") == "a-zo-1"
    return ids | raw["properties"].map(lambda p: normalize(str(p.get("email") or ""))).eq(
        "zoe.quist@acme.test"
    )


@pytest.fixture(scope="module")
def erased(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("erasure_inviter")
    db = work / "lawn.duckdb"
    run_dbt(BUILD, db, work, raw_dir=FEED)
    assert scan_db(db, ZOE_VALUES)  # the scan can fail
    result = erase(db, email="  ZOE.Quist@acme.TEST ")
    assert result.person_found
    assert result.rows_deleted["raw.raw_events"] == int(_zoe_rows(_raw()).sum())  # 3
    run_dbt(BUILD, db, work)
    return db


def _placeholder() -> str:
    digest = hmac.new(TEST_HASH_KEY.secret, b"user_id:usr_zoe", hashlib.sha256).hexdigest()
    return f"erased-{digest[:16]}"


def test_erased_user_id_named_by_others_is_gone_everywhere(erased):
    assert scan_db(erased, ZOE_VALUES) == []
    raw = _raw()
    left = raw[~_zoe_rows(raw)]
    landed = query(erased, "select event_id, properties from raw.raw_events").set_index("event_id")
    assert sorted(landed.index) == sorted(left["event_id"])
    inviters = {e: json.loads(p).get("invited_by_user_id") for e, p in landed["properties"].items()}
    assert inviters == {
        "e04": _placeholder(),
        "e05": None,
        "e06": _placeholder(),
        "e07": "usr_zed",
        "e08": None,
    }
    # the mart shows the placeholder (the property is pseudonymous, so shown) and keeps usr_zed
    shown = query(erased, "select event_id, properties from marts.fct_events where event_name = 'signed_up'")
    marts = {
        e: json.loads(p)["invited_by_user_id"]
        for e, p in zip(shown["event_id"], shown["properties"], strict=True)
    }
    assert marts == {"e04": _placeholder(), "e06": _placeholder(), "e07": "usr_zed"}


def test_a_redelivery_of_the_same_file_stays_redacted_and_reconciles(erased, tmp_path):
    raw = _raw()
    run_dbt(BUILD, erased, tmp_path, raw_dir=FEED)
    assert scan_db(erased, ZOE_VALUES) == []
    counts = query(
        erased,
        "select raw_count, valid_count, quarantined_count, duplicate_count, erased_at_landing_count, "
        "redacted_at_landing_count, is_reconciled from marts.fct_event_reconciliation",
    ).iloc[0]
    assert counts["raw_count"] == len(raw) - int(_zoe_rows(raw).sum())  # 5
    assert counts["erased_at_landing_count"] == int(_zoe_rows(raw).sum())
    assert counts["redacted_at_landing_count"] == 2  # e04 and e06 name usr_zoe as their inviter
    assert (
        counts["raw_count"] == counts["valid_count"] + counts["quarantined_count"] + counts["duplicate_count"]
    )
    assert bool(counts["is_reconciled"])
