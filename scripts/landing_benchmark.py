"""What lawn's own Python costs before dbt starts, on a one-day increment and with no new data:
the warehouse health check, landing and the Great Expectations gate (no dbt). Compares two
checkouts of lawn (``--before``: another checkout's folder, e.g. a git worktree of the commit
before landing increments) on a copy of the same raw files (docs/landing_increments.md).

    .venv/bin/python scripts/landing_benchmark.py --raw /work/bench1m_final/raw --out bench_landing \\
        --before /tmp/lawn-before

The last received day is held back as the benchmark does (scripts/benchmark_staging.py). The
single-file form lands ``raw_first`` (all but that day), then ``raw`` (every day, the one file
rewritten); the folder form lands ``feed_first`` (raw_events/part-0000.parquet), then
``feed_inc`` (the same file plus raw_events/part-0001.parquet, the held-back day). Each step
runs in a fresh interpreter of the checkout measured."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
from benchmark_staging import hold_back_last_day

REPO = Path(__file__).resolve().parent.parent
RECEIVED_DAY = "cast(timezone('UTC', try_cast(received_at as timestamptz)) as date)"

# one step: the health check (what `lawn build` runs before landing), then the gated landing
STEP = """
import json, sys, time
from pathlib import Path
from lawn.validate_raw import load_raw
from lawn.warehouse import check_warehouse
raw_dir, db = Path(sys.argv[1]), Path(sys.argv[2])
start = time.perf_counter()
if db.exists():
    check_warehouse(db, write=True)
checked = time.perf_counter()
report = load_raw(raw_dir, db)
assert report.ok, report.errors
done = time.perf_counter()
modes = sorted({getattr(t, "mode", "full") for t in report.tables})
print(json.dumps({"health_s": checked - start, "landing_gate_s": done - checked, "modes": modes,
                  "rows": sum(t.rows for t in report.tables)}))
"""


def deliveries(raw_dir: Path, out: Path) -> tuple[Path, Path, Path]:
    """``raw_first`` (single file, all but the last day) and the folder form of both loads."""
    first = out / "raw_first"
    day, kept, held = hold_back_last_day(raw_dir, first)
    feed_first, feed_inc = as_deliveries(raw_dir, first, day, held, out)
    print(f"held back {day}: {held:,} of {kept + held:,} rows", flush=True)
    return first, feed_first, feed_inc


def as_deliveries(raw_dir: Path, first: Path, day: dt.date, held: int, out: Path) -> tuple[Path, Path]:
    """The folder form of hold_back_last_day's split: ``out/feed_first`` has raw_events/part-0000
    (``first``'s file, linked); ``out/feed_inc`` has it too and part-0001, the held-back day, as
    a nightly export delivers it. The other tables are links to ``raw_dir``'s files."""
    feed_first, feed_inc = out / "feed_first", out / "feed_inc"
    for feed in (feed_first, feed_inc):
        shutil.rmtree(feed, ignore_errors=True)
        (feed / "raw_events").mkdir(parents=True)
        for path in raw_dir.iterdir():
            if path.name != "raw_events.parquet":
                (feed / path.name).symlink_to(path.resolve())
        (feed / "raw_events" / "part-0000.parquet").symlink_to((first / "raw_events.parquet").resolve())
    source = f"read_parquet('{raw_dir / 'raw_events.parquet'}')"
    # the rows hold_back_last_day left out of raw_first (its keep predicate, negated)
    held_rows = f"select * from {source} where not coalesce({RECEIVED_DAY} < date '{day}', true)"
    second = feed_inc / "raw_events" / "part-0001.parquet"
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"copy ({held_rows}) to '{second}' (format parquet)")
        written = con.execute(f"select count(*) from read_parquet('{second}')").fetchone()[0]
    if written != held:
        raise SystemExit(f"{second}: {written:,} rows where {held:,} were held back")
    return feed_first, feed_inc


def step(checkout: Path, raw_dir: Path, db: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    env.pop("LAWN_WAREHOUSE_CHECK", None)
    found = subprocess.run(
        [sys.executable, "-c", STEP, str(raw_dir), str(db)],
        env=env,
        cwd=checkout,
        capture_output=True,
        text=True,
    )
    if found.returncode:
        sys.exit(f"{checkout}: {raw_dir}: {found.stderr[-2000:]}")
    return json.loads(found.stdout.strip().splitlines()[-1])


def run(name: str, checkout: Path, first: Path, then: Path, db: Path) -> dict:
    db.unlink(missing_ok=True)
    figures = {"first load": step(checkout, first, db)}
    figures["one-day increment"] = step(checkout, then, db)
    figures["no new data"] = step(checkout, then, db)
    for label, row in figures.items():
        total = row["health_s"] + row["landing_gate_s"]
        print(
            f"{name:<28} {label:<18} health {row['health_s']:6.2f} s  "
            f"landing+gate {row['landing_gate_s']:6.2f} s  total {total:6.2f} s  "
            f"({', '.join(row['modes'])}; {row['rows']:,} rows)",
            flush=True,
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, required=True, help="raw folder (single-file form), read only")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--before", type=Path, help="a checkout of lawn before landing increments")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    raw = out / "raw"
    if not raw.exists():
        shutil.copytree(args.raw, raw)
    first, feed_first, feed_inc = deliveries(raw, out)
    results = {}
    if args.before:
        results["before, single file"] = run(
            "before, single file", args.before.resolve(), first, raw, out / "b.duckdb"
        )
    results["after, single file"] = run("after, single file", REPO, first, raw, out / "s.duckdb")
    results["after, folder of files"] = run(
        "after, folder of files", REPO, feed_first, feed_inc, out / "f.duckdb"
    )
    (out / "landing_results.json").write_text(json.dumps(results, indent=2))
    print(f"figures saved to {out / 'landing_results.json'}")


if __name__ == "__main__":
    main()
