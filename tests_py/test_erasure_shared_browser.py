"""Erasure of a person whose browser a colleague logged in on later
(tests_py/fixtures/erasure_shared_browser, delivered in two files, built after each).

Bob signs up on the front-desk browser (cookie `front-desk-1`); after the first delivery the
map gives the cookie to Bob and the identity snapshot records that version. The second
delivery has Carl log in on the same cookie, so the cookie becomes shared: nobody's. Erasing
Bob must delete Bob's rows only (docs/privacy.md: "An identifier shared by several persons
... is nobody's and is kept"). Before the fix, the erasure read the closed snapshot version
(`front-desk-1` -> Bob) as one of Bob's identifiers and deleted Carl's signup and his use of
the shared browser, and tombstoned the cookie so they could never land again. It also swept
every id on Bob's rows, the shared cookie too, out of the incremental identity observations
of Carl's events, which the rebuild does not recompute once they are older than the lookback
(Dan's signup, a third delivery two weeks later): the cookie then had no person, where a
full rebuild gives it to Carl. Expected rows come from pandas over the raw files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from lawn.privacy import erase
from tests_py.conftest import query, run_dbt

FEED = Path(__file__).parent / "fixtures" / "erasure_shared_browser"
BUILD = ["build", "--exclude-resource-type", "unit_test"]


def _raw() -> pd.DataFrame:
    return pd.concat(pd.read_json(FEED / f"day{n}.jsonl", lines=True, dtype=False) for n in (1, 2, 3))


@pytest.fixture(scope="module")
def erased(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("erasure_shared_browser")
    raw_dir = work / "raw"
    (raw_dir / "raw_events").mkdir(parents=True)
    db = work / "lawn.duckdb"
    for day in ("day1", "day2", "day3"):  # one delivery per file, a build after each
        shutil.copy(FEED / f"{day}.jsonl", raw_dir / "raw_events" / f"{day}.jsonl")
        run_dbt(BUILD, db, work, raw_dir=raw_dir)
    history = query(
        db,
        "select person_id, dbt_valid_to from snapshots.identity_map_history "
        "where identifier_key = 'anonymous_id:front-desk-1'",
    )
    assert history["person_id"].notna().any() and history["person_id"].isna().any()  # Bob's, then nobody's
    result = erase(db, user_id="usr_bob")
    assert result.person_found
    run_dbt(BUILD, db, work)
    return db


def test_erasure_deletes_only_the_persons_rows_not_the_shared_browsers(erased):
    raw = _raw()
    bobs = raw["user_id"].eq("usr_bob") | raw["anonymous_id"].eq("a-bob-own")  # f02 f03 f04 f09
    landed = query(erased, "select event_id from raw.raw_events")
    assert sorted(landed["event_id"]) == sorted(raw.loc[~bobs, "event_id"])
    events = query(erased, "select event_id, person_id from marts.fct_events").set_index("event_id")
    assert sorted(events.index) == sorted(raw.loc[~bobs, "event_id"])
    carl = query(
        erased, "select person_id from pii.pii_identifiers where identifier_key = 'user_id:usr_carl'"
    )
    assert len(carl) == 1
    # Carl's events on the shared browser are his; nothing of Bob is left to share the cookie
    assert set(events.loc[["f06", "f07", "f08"], "person_id"]) == {carl["person_id"][0]}
    cookie = query(
        erased, "select person_id from pii.pii_identifiers where identifier_key = 'anonymous_id:front-desk-1'"
    )
    assert cookie["person_id"].tolist() == carl["person_id"].tolist()  # only Carl is left on it
    reconciliation = query(
        erased, "select raw_count, valid_count, is_reconciled from marts.fct_event_reconciliation"
    )
    assert reconciliation.iloc[0].tolist() == [int((~bobs).sum()), int((~bobs).sum()), True]
