"""Benchmark of one erasure (`lawn privacy erase`, issue 13): generate a world of a given size
(`lawn generate`, as scripts/benchmark.py does), build it, pick the person with the most
identifiers that has an email, and time their erasure: the erasure itself (the ledger's
seconds_taken, ops.erasure_requests) and end to end with the rebuild (`dbt build` without unit
tests), with the command's own peak memory.

Usage: .venv/bin/python scripts/erasure_benchmark.py --accounts 50 --days 150 [--out data/erasure_bench]
       .venv/bin/python scripts/erasure_benchmark.py --raw-dir data/raw   # the demo files as they are
Prints one line per step (wall seconds), then the world's size and what the erasure touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent

# the person to erase: the one with the most identifiers among those with an email (ties: by id)
PICK_PERSON = """
with people as (
    select person_id, count(*) as identifiers,
        min(case when identifier_type = 'email' then identifier_value end) as email
    from pii.pii_identifiers
    where person_id is not null
    group by person_id
)
select person_id, identifiers, email from people
where email is not null
order by identifiers desc, person_id
limit 1
"""


def run(label: str, command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``command``; print and return wall seconds, its own peak memory (MB) and stdout."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=stdout, stderr=stderr, text=True)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage
        elapsed = time.perf_counter() - start
        stdout.seek(0)
        stderr.seek(0)
        printed, errors = stdout.read(), stderr.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{label} failed (exit {code}):\n{printed[-2000:]}\n{errors[-2000:]}")
    peak = usage.ru_maxrss / 1024  # kilobytes on Linux
    print(f"{label:<44} {elapsed:8.1f} s  peak {peak:6.0f} MB", flush=True)
    return elapsed, peak, printed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=50, help="lawn generate --accounts (demo: 50)")
    parser.add_argument("--days", type=int, default=150, help="lawn generate --days (demo: 150)")
    parser.add_argument("--seed", type=int, default=42, help="lawn generate --seed (demo: 42)")
    parser.add_argument("--out", type=Path, default=REPO / "data" / "erasure_bench")
    parser.add_argument(
        "--raw-dir", type=Path, default=None, help="use these raw files instead of generating"
    )
    parser.add_argument("--reuse", action="store_true", help="keep already generated files")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    db_path = out / "erasure.duckdb"
    env = dict(os.environ, LAWN_DUCKDB_PATH=str(db_path))
    lawn = str(Path(sys.executable).parent / "lawn")
    raw_dir = args.raw_dir.resolve() if args.raw_dir else out / "raw"
    if args.raw_dir is None and not (args.reuse and (raw_dir / "raw_events.parquet").exists()):
        shutil.rmtree(raw_dir, ignore_errors=True)
        run(
            f"generate {args.accounts} accounts x {args.days} days",
            [lawn, "generate", "--seed", str(args.seed), "--accounts", str(args.accounts), "--days",
             str(args.days), "--format", "parquet", "--out-dir", str(raw_dir), "--truth-dir",
             str(out / "truth")],
            env,
        )  # fmt: skip
    db_path.unlink(missing_ok=True)
    run("lawn build --full-refresh", [lawn, "build", "--raw-dir", str(raw_dir), "--full-refresh"], env)
    with duckdb.connect(str(db_path), read_only=True) as con:
        raw_rows = con.execute("select count(*) from raw.raw_events").fetchone()[0]
        people = con.execute("select count(distinct person_id) from pii.pii_identifiers").fetchone()[0]
        person_id, identifiers, email = con.execute(PICK_PERSON).fetchone()
    print(f"{'raw events':<44} {raw_rows:>10,}")
    print(f"{'persons in the identity graph':<44} {people:>10,}")
    print(f"{'erased person (identifiers in the graph)':<44} {person_id} ({identifiers})")
    exports, reports = out / "exports", out / "reports"
    wall, peak, stdout = run(
        "lawn privacy erase (erasure + rebuild)",
        [lawn, "privacy", "erase", "--email", email, "--db", str(db_path), "--export-dir", str(exports),
         "--report-dir", str(reports)],
        env,
    )  # fmt: skip
    with duckdb.connect(str(db_path), read_only=True) as con:
        seconds, rows, tombstoned = con.execute(
            "select seconds_taken, rows_erased, identifiers_erased from marts.fct_erasure_requests "
            "order by completed_at desc limit 1"
        ).fetchone()
        left = con.execute("select count(*) from raw.raw_events").fetchone()[0]
    print(f"{'  the erasure itself (seconds_taken)':<44} {seconds:8.1f} s")
    print(f"{'  the rebuild (the rest)':<44} {wall - seconds:8.1f} s")
    print(f"{'  peak memory of the command':<44} {peak:8.0f} MB")
    print(f"{'  identifiers tombstoned, rows erased':<44} {tombstoned:>4} {rows:>10,}")
    print(f"{'  raw rows deleted':<44} {raw_rows - left:>10,}")
    print(stdout.strip().splitlines()[0][:300] if stdout.strip() else "")


if __name__ == "__main__":
    main()
