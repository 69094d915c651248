"""The incremental event model's receive-time window reaches the scan of the landing table
(docs/performance.md, "The raw scan of the one-day increment").

`int_events_deduplicated` reads `stg_tracking__events` (a view over `raw.raw_events`) with
`incremental_window_predicate`, a filter on the view's parsed receive time. DuckDB pushes that
filter into the scan of the landing table, so a nightly run reads the payload columns only
for the rows of its window, unless the view reads the table through a `select *` CTE: then
the filter stays above a scan of every column of every row ever landed. Checked on the plan
DuckDB makes for the demo warehouse; the negative control is the view's old form."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from tests_py.conftest import run_dbt

# the predicate incremental_window_predicate renders on an incremental run
WINDOW = (
    "coalesce(received_at not between cast('2020-01-01' as timestamp)"
    " and cast('2026-03-20 00:00:00' as timestamp), true)"
)


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> tuple[Path, str]:
    """The demo's landing table and the staging view (and the seeds it reads), and the
    view's compiled SQL."""
    work = tmp_path_factory.mktemp("raw_scan")
    db_path = work / "lawn.duckdb"
    run_dbt(["build", "--select", "+stg_tracking__events", "--exclude-resource-type", "test", "unit_test"],
            db_path, work)  # fmt: skip
    compiled = next((work / "target" / "compiled").rglob("models/staging/tracking/stg_tracking__events.sql"))
    return db_path, compiled.read_text()


def _raw_scans(plan: list[dict]) -> list[dict]:
    found = []

    def walk(node: dict) -> None:
        if "raw_events" in str(node.get("extra_info", {}).get("Table", "")):
            found.append(node)
        for child in node.get("children", []):
            walk(child)

    for root in plan:
        walk(root)
    return found


def _scan_of(db_path: Path, relation_sql: str) -> dict:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        query = f"explain (format json) select * from {relation_sql} where {WINDOW}"
        plan = json.loads(connection.execute(query).fetchall()[0][1])
    scans = _raw_scans(plan)
    assert len(scans) == 1, scans
    return scans[0]


def test_the_window_is_a_filter_of_the_landing_table_scan(staged):
    db_path, _ = staged
    scan = _scan_of(db_path, "staging.stg_tracking__events")
    filters = str(scan["extra_info"].get("Filters") or "")
    assert "received_at" in filters and "regexp_matches" in filters, scan["extra_info"]


def test_through_a_select_star_cte_the_window_stays_above_the_scan(staged):
    """Negative control: the view as it was (the landing table read through an import CTE)
    gets a plan whose scan has no filter, so the check above can fail."""
    db_path, compiled = staged
    table = re.findall(r'"[^"]+"\."raw"\."raw_events"', compiled)
    assert len(table) == 1, table
    # (the view reads the table's rowid as raw_rowid: the CTE passes it on)
    import_cte = f"with raw_events as (select *, rowid from {table[0]}), typed as ("
    old = re.sub(r"^\s*with\s+typed as \(", import_cte, compiled)
    old = old.replace(f"from {table[0]}\n", "from raw_events\n")
    assert old.count("raw_events as (select *, rowid from") == 1 and "from raw_events\n" in old
    scan = _scan_of(db_path, f"({old}) as old_view")
    assert not scan["extra_info"].get("Filters"), scan["extra_info"]
