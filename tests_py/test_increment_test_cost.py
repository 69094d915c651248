"""The one-day increment's cheaper data tests (docs/test_cost.md, "The increment's tests"):
the PII view's key tests and the exactly-once delivery test check the rows the run wrote,
and fct_event_reconciliation parses no raw receive time before any history cutoff exists.

The demo feed lands in two batches (cut at the 80% quantile of receive time). After batch 1,
faults are planted in rows older than every lookback; then batch 2 is built incrementally
(`dbt build`) and everything is tested again (`dbt test`, which checks every row):

- an old attributed row copied under the event_id of a batch-2 event (old collides with
  new), a copy of another old row (old collides with old) and an old row without event_id;
- an old quarantined row copied under the raw_event_key of a batch-2 valid delivery (the new
  delivery is then both valid and quarantined);
- an old valid row deleted (its delivery is then nowhere).

The incremental build excludes the two key tests on int_events_attributed and fct_events:
they find the first collision too, and a failed test there would skip the views downstream
and so the tests under study (the windowed key tests are controlled in
test_incremental_tests.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.paths import DEMO_RAW_DIR
from tests_py.conftest import run_dbt
from tests_py.expectations import parse_utc

SELECTION = ["--select", "+fct_event_reconciliation", "+pii_event_personal_data"]
SELECTION += ["--indirect-selection", "cautious", "--exclude-resource-type", "unit_test"]
UPSTREAM_KEY_TESTS = ["unique_int_events_attributed_event_id", "unique_fct_events_event_id"]
ATTRIBUTED = "intermediate.int_events_attributed"
QUARANTINED = "marts.fct_quarantined_events"
PII_UNIQUE = "unique_pii_event_personal_data_event_id"
PII_NOT_NULL = "not_null_pii_event_personal_data_event_id"
EXACTLY_ONCE = "assert_each_raw_delivery_lands_exactly_once"


def _results(work_dir: Path) -> dict[str, dict]:
    results = json.loads((work_dir / "target" / "run_results.json").read_text())["results"]
    return {result["unique_id"].split(".")[2]: result for result in results}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    work = tmp_path_factory.mktemp("increment_tests")
    raw = pd.read_csv(DEMO_RAW_DIR / "raw_events.csv", dtype=str, keep_default_na=False)
    received = raw["received_at"].map(parse_utc)
    cutoff = received.quantile(0.8)
    first_received = received.groupby(raw["event_id"]).transform("min")
    batch_two = set(raw.loc[(raw["event_id"] != "") & (first_received >= cutoff), "event_id"])
    raw_dir = work / "raw"
    raw_dir.mkdir()
    # which batch-2 events end valid (a collision with a quarantined one would be no control)
    raw.to_csv(raw_dir / "raw_events.csv", index=False)
    probe = ["build", "--select", "+int_events_valid", "--exclude-resource-type", "test", "unit_test"]
    run_dbt(probe, work / "probe.duckdb", work, raw_dir=raw_dir)
    with duckdb.connect(str(work / "probe.duckdb"), read_only=True) as con:
        valid = {
            row[0] for row in con.execute("select event_id from intermediate.int_events_valid").fetchall()
        }
    new_ids = sorted(batch_two & valid)
    raw[received < cutoff].to_csv(raw_dir / "raw_events.csv", index=False)
    db_path = work / "increment.duckdb"
    run_dbt(["build", "--full-refresh", *SELECTION], db_path, work, raw_dir=raw_dir)
    with duckdb.connect(str(db_path)) as con:
        oldest = con.execute(
            f"select event_id, raw_event_key from {ATTRIBUTED} order by received_at, event_id limit 4"
        ).fetchall()
        old = [row[0] for row in oldest]
        old_quarantined = con.execute(
            f"select raw_event_key from {QUARANTINED} order by received_at, raw_event_key limit 1"
        ).fetchone()[0]
        copy = f"insert into {ATTRIBUTED} select * replace ({{}} as event_id) from {ATTRIBUTED}"
        copy += " where event_id = ?"
        con.execute(copy.format("?"), [new_ids[0], old[0]])  # old collides with a batch-2 event
        con.execute(copy.format("event_id"), [old[1]])  # old collides with old
        con.execute(copy.format("cast(null as varchar)"), [old[2]])  # an old row without event_id
        con.execute(f"delete from {ATTRIBUTED} where event_id = ?", [old[3]])  # its delivery: nowhere
        con.execute(
            f"insert into {QUARANTINED} select * replace (? as raw_event_key) from {QUARANTINED} "
            "where raw_event_key = ?",
            [new_ids[1] + "#1", old_quarantined],
        )
    raw.to_csv(raw_dir / "raw_events.csv", index=False)
    run_dbt(
        ["build", *SELECTION, "--exclude", *UPSTREAM_KEY_TESTS], db_path, work, raw_dir=raw_dir, check=False
    )
    incremental = _results(work)
    run_dbt(["test", *SELECTION], db_path, work, check=False)
    plain = _results(work)
    return {
        "db": db_path,
        "work": work,
        "raw": raw,
        "received": received,
        "new_ids": new_ids,
        "old": old,
        "deleted_key": oldest[3][1],
        "incremental": incremental,
        "plain": plain,
    }


def _outcome(result: dict) -> tuple[str, int]:
    return result["status"], result["failures"]


def test_the_planted_rows_are_where_the_controls_need_them(planted):
    """The batch-2 events the plants refer to were built by the increment, valid, and after
    every planted row: the collisions are between a new row and an old one."""
    new_ids = planted["new_ids"][:2]
    with duckdb.connect(str(planted["db"]), read_only=True) as con:
        rows = con.execute(
            "select event_id, count(*), max(received_at) from marts.fct_events "
            "where event_id in (?, ?) group by event_id order by event_id",
            new_ids,
        ).fetchall()
        newest_old = con.execute(
            f"select max(received_at) from {ATTRIBUTED} where event_id in (?, ?)", planted["old"][:2]
        ).fetchone()[0]
    assert [row[0] for row in rows] == sorted(new_ids)
    assert {row[0]: row[1] for row in rows} == {new_ids[0]: 2, new_ids[1]: 1}
    assert all(row[2] > newest_old for row in rows)
    assert planted["incremental"]["int_events_attributed"]["status"] == "success"


def test_the_pii_key_tests_check_the_events_the_run_wrote(planted):
    """unique: the old copy carrying a batch-2 event's id is read through the key (1 in the
    increment); the old-with-old copy only by the plain test (2). not_null is not windowed
    (column statistics make it cheap): the old null row fails both."""
    incremental, plain = planted["incremental"], planted["plain"]
    assert _outcome(incremental[PII_UNIQUE]) == ("fail", 1)
    assert _outcome(plain[PII_UNIQUE]) == ("fail", 2)
    assert _outcome(incremental[PII_NOT_NULL]) == ("fail", 1)
    assert _outcome(plain[PII_NOT_NULL]) == ("fail", 1)
    compiled = incremental[PII_UNIQUE]["compiled_code"]
    assert "int_events_attributed" in compiled and "received_at >" in compiled
    assert "received_at" not in plain[PII_UNIQUE]["compiled_code"]


def test_the_exactly_once_test_checks_the_deliveries_the_run_can_have_moved(planted):
    """The new delivery planted into quarantine too is in this run's window: found by the
    increment (1). The old delivery whose valid row was deleted is outside it: only the plain
    test finds it (2); in the increment the whole-table count reconciliations fail instead
    (raw = valid + quarantined + duplicates no longer holds)."""
    incremental, plain = planted["incremental"], planted["plain"]
    assert _outcome(incremental[EXACTLY_ONCE]) == ("fail", 1)
    assert _outcome(plain[EXACTLY_ONCE]) == ("fail", 2)
    assert "received_at >" in incremental[EXACTLY_ONCE]["compiled_code"]
    assert "received_at >" not in plain[EXACTLY_ONCE]["compiled_code"]
    with duckdb.connect(str(planted["db"]), read_only=True) as con:
        con.execute(plain[EXACTLY_ONCE]["compiled_code"].replace('"increment".', ""))
        found = sorted(row[0] for row in con.fetchall())
    assert found == sorted([planted["new_ids"][1] + "#1", planted["deleted_key"]])
    assert incremental["assert_raw_rows_reconcile_with_event_marts"]["status"] == "fail"


def test_a_clean_increment_passes_every_changed_test(tmp_path):
    """Without plants the same two-batch increment passes the three changed tests, each
    restricted to the window (so the controls above fail for the plants, not the window)."""
    raw = pd.read_csv(DEMO_RAW_DIR / "raw_events.csv", dtype=str, keep_default_na=False)
    received = raw["received_at"].map(parse_utc)
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    raw[received < received.quantile(0.8)].to_csv(raw_dir / "raw_events.csv", index=False)
    db_path = tmp_path / "clean.duckdb"
    run_dbt(["build", "--full-refresh", *SELECTION], db_path, tmp_path, raw_dir=raw_dir)
    raw.to_csv(raw_dir / "raw_events.csv", index=False)
    result = run_dbt(["build", *SELECTION], db_path, tmp_path, raw_dir=raw_dir, check=False)
    results = _results(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    for name in (
        PII_UNIQUE,
        PII_NOT_NULL,
        EXACTLY_ONCE,
        "accepted_values_fct_event_reconciliation_is_reconciled__False__True",
    ):
        assert results[name]["status"] == "pass", name
    for name in (PII_UNIQUE, EXACTLY_ONCE):
        assert "received_at >" in results[name]["compiled_code"], name


def test_reconciliation_counts_raw_rows_before_the_history_cutoff(planted):
    """fct_event_reconciliation joins the raw rows to the history cutoff only when there is
    one. Its count equals pandas' count of raw receive times before each planted cutoff, and
    is 0 with no cutoff (or only a dry run's)."""
    raw, received = planted["raw"], planted["received"]
    db_path = planted["db"]
    view = "select purged_from_history_count from marts.fct_event_reconciliation"
    audit = (
        "insert into ops.retention_audit (run_id, relation_name, cutoff_at, is_dry_run) "
        "values (?, 'intermediate.int_events_deduplicated', ?, ?)"
    )
    with duckdb.connect(str(db_path)) as con:
        con.execute("delete from ops.retention_audit")
        assert con.execute(view).fetchone()[0] == 0
        raw_rows = con.execute("select count(*) from raw.raw_events").fetchone()[0]
        assert raw_rows == len(raw)
        cut = received.quantile(0.3)
        con.execute(audit, ["dry", cut.to_pydatetime(), True])
        assert con.execute(view).fetchone()[0] == 0
        for run, quantile in (("a", 0.3), ("b", 0.55)):
            cut = received.quantile(quantile)
            con.execute("delete from ops.retention_audit where not is_dry_run")
            con.execute(audit, [run, cut.to_pydatetime(), False])
            expected = int((received < cut).sum())
            assert 0 < expected < len(raw)
            assert con.execute(view).fetchone()[0] == expected, quantile
        con.execute("delete from ops.retention_audit")


MODELS = Path(__file__).resolve().parent.parent / "models"
PASS_THROUGH = [
    "intermediate/events/int_events_validated.sql",
    "intermediate/events/int_events_valid.sql",
    "intermediate/events/int_events_attributed.sql",
    "marts/events/fct_events.sql",
]


def test_a_valid_events_raw_event_key_is_its_event_id_and_delivery_number():
    """Why `raw_event_key` needs no unique test of its own on int_events_valid and fct_events
    (docs/test_cost.md): int_events_deduplicated builds it as `dedup_key || '#' ||
    delivery_number` (an integer: no '#'), `dedup_key` is the event_id whenever there is one,
    and every model from there to fct_events passes both columns through (no expression is
    named either). Two valid rows sharing a raw_event_key share their event_id, which the
    event_id unique test of the same model reports."""
    dedup = (MODELS / "intermediate/events/int_events_deduplicated.sql").read_text()
    assert re.search(r"set keyless_prefix = 'no-event-id:'", dedup)
    assert re.search(
        r"set dedup_key = \"coalesce\(event_id, '\" ~ keyless_prefix ~ \"' \|\| raw_row_hash\)\"",
        dedup,
    )
    assert re.search(r"\{\{ dedup_key \}\} as dedup_key", dedup)
    assert re.search(
        r"dedup_key \|\| '#' \|\| cast\(delivery_number as \{\{ dbt\.type_string\(\) \}\}\)"
        r"\s+as raw_event_key",
        dedup,
    )
    assert re.search(
        r"ranked\.rank_in_batch\s+\+ coalesce\(earlier_deliveries\.earlier_delivery_count, 0\)"
        r" as delivery_number",
        dedup,
    )
    for path in PASS_THROUGH:
        sql = (MODELS / path).read_text()
        assert not re.search(r"\bas\s+(raw_event_key|event_id)\b", sql), path
        assert re.search(r"\braw_event_key\b", sql) and re.search(r"\bevent_id\b", sql), path


def test_a_copied_valid_row_is_reported_by_the_event_id_tests(planted):
    """The plain `dbt test` after the planted build: the copies of old attributed rows (same
    event_id and raw_event_key as the original, or a batch-2 event's id) fail the event_id
    unique tests of int_events_attributed and fct_events: the raw_event_key test they replace
    would have found the old-with-old copy, and so does this one."""
    plain = planted["plain"]
    assert _outcome(plain["unique_int_events_attributed_event_id"]) == ("fail", 2)
    assert _outcome(plain["unique_fct_events_event_id"]) == ("fail", 2)


def test_every_stored_valid_event_keys_as_event_id_and_delivery_number(planted):
    """On the built demo (batch 2 incremental): every row of int_events_valid has
    raw_event_key == event_id + '#' + its delivery number in int_events_deduplicated,
    checked in pandas."""
    with duckdb.connect(str(planted["db"]), read_only=True) as con:
        valid = con.execute(
            "select valid.event_id, valid.raw_event_key, dedup.delivery_number "
            "from intermediate.int_events_valid as valid "
            "left join intermediate.int_events_deduplicated as dedup using (raw_event_key)"
        ).df()
    assert len(valid) > 1000 and valid["delivery_number"].notna().all()
    expected = valid["event_id"] + "#" + valid["delivery_number"].astype(int).astype(str)
    assert (valid["raw_event_key"] == expected).all()
