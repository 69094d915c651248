"""The benchmark's staging figures (scripts/benchmark.py): the dbt event staging nodes against
the hand-written floor (scripts/staging_floor.py) on the same raw files in the same run, and the
raw file split for the one-day increment (the last received day held back from the first build).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
from staging_floor import run_floor

from lawn.dbt_runner import run_dbt

# the dbt nodes that do the floor's work (views take no time of their own: their queries run
# inside the two tables that read them)
STAGING_NODES = (
    "stg_tracking__events",
    "int_events_deduplicated",
    "int_event_properties_checked",
    "int_events_validated",
)


def hold_back_last_day(raw_dir: Path, first_dir: Path) -> tuple[dt.date, int, int]:
    """Write ``first_dir``: ``raw_dir``'s files, but raw_events without the deliveries received
    on or after the last full day (UTC): the last day with at least half the median day's
    deliveries, so that a few late or stray rows do not pass for a day. Rows whose receive time
    does not parse stay in: a real first load has them too. Returns the day, rows kept and rows
    held back."""
    shutil.rmtree(first_dir, ignore_errors=True)
    first_dir.mkdir(parents=True)
    for path in raw_dir.iterdir():
        if path.name != "raw_events.parquet":
            (first_dir / path.name).symlink_to(path.resolve())
    source = f"read_parquet('{raw_dir / 'raw_events.parquet'}')"
    received = "cast(timezone('UTC', try_cast(received_at as timestamptz)) as date)"
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        day = connection.execute(
            f"""
            with days as (
                select {received} as day, count(*) as deliveries
                from {source}
                where {received} between date '2020-01-01' and current_date
                group by 1
            )
            select max(day) from days
            where deliveries >= 0.5 * (select median(deliveries) from days)
            """
        ).fetchone()[0]
        if day is None:
            raise SystemExit(f"{raw_dir}: no plausible received_at to hold a day back by")
        keep = f"coalesce({received} < date '{day}', true)"
        connection.execute(
            f"copy (select * from {source} where {keep}) to '{first_dir / 'raw_events.parquet'}' "
            "(format parquet)"
        )
        counts = f"select count(*) filter (where {keep}), count(*) from {source}"
        kept, total = connection.execute(counts).fetchone()
    return day, kept, total - kept


def staging_node_seconds(run_results: Path) -> dict[str, float]:
    """Each staging node's execution time in a dbt run (run_results.json)."""
    results = json.loads(run_results.read_text())["results"]
    seconds = {}
    for result in results:
        kind, _, name = result["unique_id"].partition(".lawn.")
        if kind == "model" and name in STAGING_NODES:
            seconds[name] = result["execution_time"]
    missing = set(STAGING_NODES) - set(seconds)
    if missing:
        raise SystemExit(f"{run_results}: no time for {', '.join(sorted(missing))}")
    return seconds


def verdict_counts(db_path: Path, table: str) -> dict[tuple[str, str | None], int]:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        rows = connection.execute(
            f"select delivery_status, primary_reason_code, count(*) from {table} group by 1, 2"
        ).fetchall()
    return {(status, reason): count for status, reason, count in rows}


def differing_rows(warehouse: Path, floor_db: Path) -> int:
    """Rows (all columns) in one of int_events_validated and the floor's table but not the other."""
    with duckdb.connect() as connection:
        connection.execute(f"attach '{warehouse}' as built (read_only)")
        connection.execute(f"attach '{floor_db}' as floor (read_only)")
        built = "built.intermediate.int_events_validated"
        columns = ", ".join(row[0] for row in connection.execute(f"describe {built}").fetchall())
        one, other = f"select {columns} from {built}", f"select {columns} from floor.events_validated"
        return connection.execute(
            f"select (select count(*) from ({one} except all {other})) "
            f"+ (select count(*) from ({other} except all {one}))"
        ).fetchone()[0]


def staging_alone_seconds(warehouse: Path, out: Path) -> float:
    """The four staging nodes rebuilt by themselves after the build (`dbt run --full-refresh`
    on the same landed rows, same results): their time without the build's other nodes
    running beside them on the same cores."""
    target = out / "target_staging"
    result = run_dbt(["run", "--full-refresh"], warehouse, select=STAGING_NODES, target_path=target)
    if result.returncode:
        raise SystemExit(f"dbt run of the staging nodes failed:\n{result.stdout[-3000:]}")
    return sum(staging_node_seconds(target / "run_results.json").values())


def floor_step(raw_dir: Path, out: Path, run_results: Path, warehouse: Path) -> dict[str, float]:
    """Run the floor on ``raw_dir``, print the staging nodes' times from ``run_results`` (the full
    build of the same files into ``warehouse``) and alone against it; return both ratios
    (``ratio``, ``alone_ratio``) and the seconds behind them."""
    nodes = staging_node_seconds(run_results)
    started = json.loads(run_results.read_text())["metadata"].get("invocation_started_at")
    # judged against the build's own start, as dbt judges receive times
    reference = dt.datetime.fromisoformat(started).replace(tzinfo=None) if started else None
    result = run_floor(raw_dir, out / "floor.duckdb", reference_time=reference)
    total = sum(nodes.values())
    for name, seconds in nodes.items():
        print(f"    {name:<50} {seconds:6.1f} s")
    print(f"{'  staging nodes (dbt, sum of the four)':<40} {total:8.1f} s")
    floor_label = "  staging floor (hand-written DuckDB)"
    print(f"{floor_label:<40} {result.seconds:8.1f} s  {result.rows:,} deliveries")
    same = verdict_counts(warehouse, "intermediate.int_events_validated") == verdict_counts(
        result.db_path, "events_validated"
    )
    print(f"{'  same verdicts (status x reason counts)':<40} {'yes' if same else 'NO'}")
    differing = differing_rows(warehouse, result.db_path)
    print(f"{'  rows differing in any column':<40} {differing:>10,}")
    if not same or differing:
        raise SystemExit("the staging floor and the dbt build disagree: the floor is not a fair one")
    ratio = total / result.seconds
    print(f"{'  staging nodes / floor':<40} {ratio:8.2f}x  (target <= 1.5)", flush=True)
    alone = staging_alone_seconds(warehouse, out)
    print(f"{'  staging nodes alone (dbt run)':<40} {alone:8.1f} s  {alone / result.seconds:8.2f}x floor")
    result.db_path.unlink(missing_ok=True)
    return {
        "ratio": ratio, "alone_ratio": alone / result.seconds, "nodes_s": total, "floor_s": result.seconds,
        "alone_s": alone, "rows": result.rows,
    }  # fmt: skip
