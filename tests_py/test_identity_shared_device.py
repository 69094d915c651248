"""A device many user_ids share (a lobby kiosk) is no evidence that two of them are one person.

The world, written here the way a web SDK sends it: in account acc_ctrl two colleagues, Liam
Weber and Liam Meyer (different addresses, each on their own laptop); in account acc_hub the
same two and 28 colleagues, each logging in once on the office kiosk `kiosk-1`. A black-box
probe (2026-12-08) found the kiosk pair scored `device_level = shared` and merged at p = 0.994
(the control pair: p = 0.891, review): 29 people for 30 users. The truth is one person per
user_id in both accounts, and the two Liam pairs must score alike: the kiosk says nothing
about any one pair of its 30 users (identity_max_users_per_shared_device = 2)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests_py.conftest import query, run_dbt

BUILD = ["build", "--exclude-resource-type", "unit_test"]
COLUMNS = ["event_id", "event_name", "schema_version", "source", "occurred_at", "received_at",
           "anonymous_id", "device_id", "user_id", "account_id", "context", "properties"]  # fmt: skip


def _world(folder: Path) -> int:
    rows = []

    def event(name: str, at: str, user: str, account: str, properties: dict, device: str = "") -> None:
        rows.append([f"e{len(rows) + 1}", name, 1, "web", at, at, f"{user}-cookie", device, user,
                     account, "{}", json.dumps(properties)])  # fmt: skip

    for account, colleagues in (("acc_ctrl", 0), ("acc_hub", 28)):
        people = [("liam", "weber", "2026-09-01"), ("liam", "meyer", "2026-09-20")]
        people += [(f"p{i}", f"colleague{i}", "2026-09-05") for i in range(colleagues)]
        for i, (first, last, day) in enumerate(people):
            user, email = f"{account}_u{i}", f"{first}.{last}@{account}.example"
            event("signed_up", f"{day}T09:00:00Z", user, account, {"email": email, "signup_method": "email"})
            event("identified", f"{day}T09:00:01Z", user, account,
                  {"email": email, "first_name": first.title(), "last_name": last.title()})  # fmt: skip
            device = "kiosk-1" if colleagues else f"{user}-laptop"
            event("logged_in", f"{day}T10:00:00Z", user, account, {"login_method": "password"}, device)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "raw_events.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return len(rows)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("identity_kiosk")
    assert _world(work / "raw") == 96
    db = work / "lawn.duckdb"
    run_dbt(BUILD, db, work, raw_dir=work / "raw")
    return db


def test_a_kiosk_merges_no_two_colleagues(built):
    persons = query(built, "select count(*) as n from marts.dim_users")["n"][0]
    assert persons == 32  # one per user_id: 2 in acc_ctrl, 30 in acc_hub
    merges = query(
        built, "select count(*) as n from marts.fct_identity_merges where link_reason = 'probabilistic'"
    )
    assert merges["n"][0] == 0


def test_the_kiosk_pair_scores_as_the_pair_without_one(built):
    pairs = query(
        built,
        "select account_id, device_level, match_probability, match_decision "
        "from intermediate.int_identity_match_scores "
        "where user_id_a like '%_u0' and user_id_b like '%_u1' order by account_id",
    )
    assert list(pairs["account_id"]) == ["acc_ctrl", "acc_hub"]
    assert list(pairs["device_level"]) == ["none", "none"]
    ctrl, hub = pairs["match_probability"]
    assert hub == pytest.approx(ctrl, abs=1e-12) and hub < 0.95
    assert set(pairs["match_decision"]) <= {"review", "distinct"}
    # the kiosk itself is named as a shared identifier, as before
    conflicts = query(built, "select identifier_value from marts.fct_identity_conflicts")
    assert "kiosk-1" in set(conflicts["identifier_value"])
