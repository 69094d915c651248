"""Benchmark: generate N accounts as Parquet, validate, full dbt build, incremental rebuild,
then `lawn nightly` twice (the first trains the churn model when none is live).

Usage: .venv/bin/python scripts/benchmark.py --accounts 3000 --days 150 [--out data/bench]
Prints one line per step with wall seconds, and the row counts per model.

The full build reads every delivery except those received on the last day; the floor (the
event staging nodes' work as a hand-written DuckDB script, scripts/staging_floor.py) then runs
on those same files, and `staging nodes / floor` compares the four staging nodes' times in
run_results.json with it. The held-back day is then added and `lawn build` runs incrementally:
`one-day increment / full build`. --no-increment builds everything at once (no increment step).

--generate-only stops after the generator; --generator-baseline also runs the in-memory generator
(`lawn generate --in-memory`, the path before streaming) on the same options and prints the ratios
of time and peak memory, and whether the two wrote the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from benchmark_staging import floor_step, hold_back_last_day

REPO = Path(__file__).resolve().parent.parent
PEAKS: dict[str, float] = {}  # step label -> peak resident MB, filled by timed()
RESULTS: list[Path] = []  # the --out folder: each build's run_results.json is kept there


def timed(label: str, command: list[str], env: dict[str, str], allowed: tuple[int, ...] = (0,)) -> float:
    """Run ``command``; print its wall seconds, peak resident memory (its own and its waited
    children's, e.g. dbt) and CPU seconds, and the slowest nodes of a build."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in allowed:
        sys.exit(f"{label} failed:\n{stdout[-3000:]}\n{stderr[-2000:]}")
    peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    cpu = usage.ru_utime + usage.ru_stime
    print(f"{label:<40} {elapsed:8.1f} s  peak {peak_mb:8.0f} MB  cpu {cpu:7.1f} s", flush=True)
    PEAKS[label] = peak_mb
    if "nightly" in command:
        print("    " + "\n    ".join(line for line in stderr.splitlines() if line.startswith("[")))
    if "build" in command:
        run_results = REPO / "target" / "run_results.json"
        if RESULTS:  # every node's time of this step, for comparing steps and runs
            step_name = "".join(c if c.isalnum() else "_" for c in label).strip("_")
            shutil.copy(run_results, RESULTS[0] / f"run_results_{step_name}.json")
        slowest = sorted(
            json.loads(run_results.read_text())["results"],
            key=lambda r: -r["execution_time"],
        )[:4]
        for node in slowest:
            print(f"    {node['unique_id'].split('.')[-1][:50]:<50} {node['execution_time']:6.1f} s")
    return elapsed


def measured(label: str, command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``command``; print and return its wall seconds and its own peak resident memory (MB)."""
    start = time.perf_counter()
    with open(os.devnull, "w") as sink:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=sink, stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage, not the max of all
        stderr = process.stderr.read() if process.stderr else ""
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{label} failed:\n{stderr[-2000:]}")
    peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    cpu = usage.ru_utime + usage.ru_stime
    print(f"{label:<40} {elapsed:8.1f} s  peak {peak_mb:8.0f} MB  cpu {cpu:7.1f} s", flush=True)
    return elapsed, peak_mb


def digest(folder: Path) -> str:
    """One hash over every file's name and bytes in ``folder``."""
    sha = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            sha.update(str(path.relative_to(folder)).encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    sha.update(block)
    return sha.hexdigest()


def generate_step(args: argparse.Namespace, out: Path, env: dict[str, str], lawn: str) -> None:
    """The generator's figures: streaming, and with --generator-baseline the in-memory path."""
    common = ["--accounts", str(args.accounts), "--days", str(args.days), "--format", "parquet"]
    common += ["--churn-warning-days", str(args.churn_warning_days)]
    label = f"generate {args.accounts} accounts x {args.days} days"
    shutil.rmtree(out / "raw", ignore_errors=True)
    shutil.rmtree(out / "truth", ignore_errors=True)
    stream_s, stream_mb = measured(
        label,
        [lawn, "generate", *common, "--out-dir", str(out / "raw"), "--truth-dir", str(out / "truth")],
        env,
    )
    with duckdb.connect() as con:
        count = f"select count(*) from read_parquet('{out / 'raw' / 'raw_events.parquet'}')"
        events = con.execute(count).fetchone()[0]
    print(f"{'  raw events, events per second':<40} {events:>10,} {events / stream_s:10,.0f}/s")
    if not args.generator_baseline:
        return
    base = out / "generate_in_memory"
    shutil.rmtree(base, ignore_errors=True)
    old_s, old_mb = measured(
        "generate --in-memory (before streaming)",
        [
            lawn,
            "generate",
            *common,
            "--in-memory",
            "--out-dir",
            str(base / "raw"),
            "--truth-dir",
            str(base / "truth"),
        ],
        env,
    )
    print(f"{'  streaming / in-memory: time, peak':<40} {stream_s / old_s:8.2f}x {stream_mb / old_mb:8.2f}x")
    same = digest(out / "raw") == digest(base / "raw") and digest(out / "truth") == digest(base / "truth")
    print(f"{'  same bytes as the in-memory path':<40} {'yes' if same else 'NO'}")
    shutil.rmtree(base, ignore_errors=True)
    if not same:
        sys.exit("the streaming generator wrote different files from the in-memory one")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--days", type=int, default=150)
    parser.add_argument("--out", type=Path, default=REPO / "data" / "bench")
    parser.add_argument("--reuse", action="store_true", help="keep already generated files")
    parser.add_argument("--churn-warning-days", type=int, default=0, help="plant a churn warning (generator)")
    parser.add_argument("--generate-only", action="store_true", help="stop after the generator's figures")
    parser.add_argument(
        "--generator-baseline", action="store_true", help="also run the in-memory generator and compare"
    )
    parser.add_argument(
        "--no-increment", action="store_true", help="build all days at once: no one-day increment step"
    )
    parser.add_argument("--no-nightly", action="store_true", help="stop after the build steps")
    args = parser.parse_args()
    out = args.out.resolve()
    raw_dir, db_path = out / "raw", out / "bench.duckdb"
    env = dict(os.environ, LAWN_DUCKDB_PATH=str(db_path))
    lawn = str(Path(sys.executable).parent / "lawn")
    db_path.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    RESULTS.append(out)
    if not (args.reuse and (raw_dir / "raw_events.parquet").exists()):
        generate_step(args, out, env, lawn)
    if args.generate_only:
        return
    timed("validate-raw (Great Expectations)", [lawn, "validate-raw", "--raw-dir", str(raw_dir)], env)
    first_dir, label = raw_dir, "lawn build --full-refresh (all tests)"
    if not args.no_increment:
        first_dir = out / "raw_first"
        day, kept, held = hold_back_last_day(raw_dir, first_dir)
        print(f"{'  held back: received from ' + str(day):<40} {held:>10,} of {kept + held:,} rows")
        label = "lawn build --full-refresh, all but 1 day"
    full = timed(label, [lawn, "build", "--raw-dir", str(first_dir), "--full-refresh"], env)
    ratios = floor_step(first_dir, out, REPO / "target" / "run_results.json", db_path)
    if not args.no_increment:
        step = timed("lawn build, one-day increment", [lawn, "build", "--raw-dir", str(raw_dir)], env)
        ratios["one-day increment / full build"] = step / full
    again = timed("lawn build, incremental (no new data)", [lawn, "build", "--raw-dir", str(raw_dir)], env)
    ratios["incremental, no new data / full build"] = again / full
    print("ratios (same run)")
    for name, ratio in ratios.items():
        print(f"  {name:<38} {ratio:8.2f}x", flush=True)
    if args.no_nightly:
        return
    # --dev: the checkout's local identity hash key (a benchmark is not production)
    nightly = [lawn, "nightly", "--dev", "--raw-dir", str(raw_dir), "--model-store", str(out / "models"),
               "--export-dir", str(out / "exports"), "--report-dir", str(out / "report")]  # fmt: skip
    shutil.rmtree(out / "models", ignore_errors=True)
    # exit 3 = an error-severity SLO breached: a verdict on the data, not a failed run
    timed("lawn nightly (trains the first model)", nightly, env, allowed=(0, 3))
    timed("lawn nightly again (same data)", nightly, env, allowed=(0, 3))
    for card in sorted((out / "models").glob("*/model.json")):
        model = json.loads(card.read_text())
        held_out = f"{model['test_rows']:,} account-days ({model['test_positives']:,} churned)"
        print(f"churn model {model['version']}: held-out AUC {model['test_auc']:.3f} on {held_out}, "
              f"trained on {model['training_rows']:,}")  # fmt: skip
    with duckdb.connect(str(db_path), read_only=True) as con:
        raw = con.execute(f"select count(*) from read_parquet('{raw_dir}/raw_events.parquet')").fetchone()[0]
        print(f"{'raw_events rows':<40} {raw:>10,}")
        for table in (
            "intermediate.int_events_deduplicated",
            "intermediate.int_event_properties_checked",
            "marts.fct_events",
            "marts.fct_quarantined_events",
            "marts.fct_data_quality_daily",
        ):
            print(f"{table:<40} {con.execute(f'select count(*) from {table}').fetchone()[0]:>10,}")
        reasons = con.execute(
            "select primary_reason_code, count(*) from marts.fct_quarantined_events "
            "group by 1 order by 2 desc"
        ).fetchall()
        for code, count in reasons:
            print(f"  quarantined {code:<32} {count:>8,}")


if __name__ == "__main__":
    main()
