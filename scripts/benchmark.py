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
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb
from benchmark_results import Results, machine_probe
from benchmark_staging import floor_step, hold_back_last_day
from identity_benchmark import compare as identity_compare
from landing_benchmark import as_deliveries

REPO = Path(__file__).resolve().parent.parent
RESULTS = Results()  # every figure of this run, saved to <out>/results.json after each step


def in_fresh_process(function: Callable, *args: object) -> object:
    """``function(*args)`` in a new interpreter (spawned, not forked), its result returned.

    This process starts every measured step, and Linux gives a started program the peak
    resident memory of the process that started it (a child's ru_maxrss begins at its
    parent's high-water mark), so whatever heavy work this process did itself (the floor's
    DuckDB over 10M rows, holding back the last day, the identity graphs) would show up as
    the peak of every later step. Done in a spawned process, it never raises ours."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def timed(
    label: str, command: list[str], env: dict[str, str], key: str = "", allowed: tuple[int, ...] = (0,)
) -> float:
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
    if key:
        RESULTS.record(key, seconds=elapsed, peak_mb=peak_mb, cpu_s=cpu)
    if "nightly" in command:
        print("    " + "\n    ".join(line for line in stderr.splitlines() if line.startswith("[")))
    if "build" in command:
        run_results = REPO / "target" / "run_results.json"
        if RESULTS.path is not None:  # every node's time of this step, for comparing steps and runs
            step_name = "".join(c if c.isalnum() else "_" for c in label).strip("_")
            shutil.copy(run_results, RESULTS.path.parent / f"run_results_{step_name}.json")
        slowest = sorted(
            json.loads(run_results.read_text())["results"],
            key=lambda r: -r["execution_time"],
        )[:4]
        for node in slowest:
            print(f"    {node['unique_id'].split('.')[-1][:50]:<50} {node['execution_time']:6.1f} s")
    return elapsed


def measured(label: str, command: list[str], env: dict[str, str], key: str = "") -> tuple[float, float]:
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
    if key:
        RESULTS.record(key, seconds=elapsed, peak_mb=peak_mb, cpu_s=cpu)
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
        key="generate",
    )
    with duckdb.connect() as con:
        count = f"select count(*) from read_parquet('{out / 'raw' / 'raw_events.parquet'}')"
        events = con.execute(count).fetchone()[0]
    print(f"{'  raw events, events per second':<40} {events:>10,} {events / stream_s:10,.0f}/s")
    RESULTS.record("generate", rows=events, measured_at=RESULTS.meta.get("started_at"))
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
    parser.add_argument(
        "--short", action="store_true",
        help="the issue's figures only: no no-new-data rebuild, one nightly (for 10M on a small machine)",
    )  # fmt: skip
    parser.add_argument(
        "--identity-edges", type=int, default=0,
        help="also run scripts/identity_benchmark.py's three graphs (random with this many edges)",
    )  # fmt: skip
    parser.add_argument(
        "--single-file-increment", action="store_true",
        help="deliver the held-back day by rewriting raw_events.parquet (the whole table is landed "
        "again) instead of as a second file raw_events/part-0001.parquet",
    )  # fmt: skip
    parser.add_argument("--label", default="", help="the run's column title in the README table")
    args = parser.parse_args()
    out = args.out.resolve()
    raw_dir, db_path = out / "raw", out / "bench.duckdb"
    env = dict(os.environ, LAWN_DUCKDB_PATH=str(db_path))
    lawn = str(Path(sys.executable).parent / "lawn")
    RESULTS.path = out / "results.json"
    reused = args.reuse and (raw_dir / "raw_events.parquet").exists()
    earlier = reused_generate_figures(RESULTS.path, raw_dir) if reused else None
    RESULTS.start(
        label=args.label or f"{args.accounts:,} accounts x {args.days} days",
        command="scripts/benchmark.py " + " ".join(sys.argv[1:]),
        accounts=args.accounts, days=args.days,
    )  # fmt: skip
    db_path.unlink(missing_ok=True)
    RESULTS.record("machine_probe", start_s=machine_probe())
    if not reused:
        generate_step(args, out, env, lawn)
    elif earlier:
        RESULTS.record("generate", **earlier)
    if args.generate_only:
        return
    validate = [lawn, "validate-raw", "--raw-dir", str(raw_dir)]
    timed("validate-raw (Great Expectations)", validate, env, key="validate")
    first_dir, label = raw_dir, "lawn build --full-refresh (all tests)"
    build_dir = increment_dir = raw_dir  # what the full build and the increment land
    if not args.no_increment:
        first_dir = out / "raw_first"
        day, kept, held = in_fresh_process(hold_back_last_day, raw_dir, first_dir)
        print(f"{'  held back: received from ' + str(day):<40} {held:>10,} of {kept + held:,} rows")
        label = "lawn build --full-refresh, all but 1 day"
        RESULTS.record("full_build", rows=kept, held_back_day=str(day), held_back_rows=held)
        build_dir = first_dir
        if not args.single_file_increment:
            # the held-back day arrives as a second file of raw_events/, as a nightly export sends it
            build_dir, increment_dir = in_fresh_process(as_deliveries, raw_dir, first_dir, day, held, out)
            RESULTS.record("increment", delivered_as="raw_events/part-0001.parquet")
    full = timed(label, [lawn, "build", "--raw-dir", str(build_dir), "--full-refresh"], env, key="full_build")
    floor = in_fresh_process(floor_step, first_dir, out, REPO / "target" / "run_results.json", db_path)
    RESULTS.record("staging_floor", **floor)
    ratios = {"staging nodes / floor": floor["ratio"], "staging nodes alone / floor": floor["alone_ratio"]}
    # an increment as the nightly builds it: dbt's unit tests test the models' code on their
    # own rows, not the new day (CI and the full build run them)
    incremental = [lawn, "build", "--raw-dir", str(increment_dir), "--no-unit-tests"]
    if not args.no_increment:
        RESULTS.record("increment", unit_tests=False)
        step = timed("lawn build, one-day increment", incremental, env, key="increment")
        ratios["one-day increment / full build"] = step / full
        cpu = RESULTS.steps["increment"]["cpu_s"] / RESULTS.steps["full_build"]["cpu_s"]
        RESULTS.record("increment", ratio=step / full, cpu_ratio=cpu)
    if not args.short:
        RESULTS.record("no_new_data", unit_tests=False)
        again = timed("lawn build, incremental (no new data)", incremental, env, key="no_new_data")
        ratios["incremental, no new data / full build"] = again / full
        RESULTS.record("no_new_data", ratio=again / full)
    print("ratios (same run)")
    for name, ratio in ratios.items():
        print(f"  {name:<38} {ratio:8.2f}x", flush=True)
    if not args.no_nightly:
        # the folder the increment built from: a nightly on another folder of the same rows would
        # land raw_events again in full and owe a full rebuild (lawn/rebuild_due.py)
        nightly_step(out, increment_dir, env, lawn, twice=not args.short)
        print_outputs(out, raw_dir, db_path)
    if args.identity_edges:
        identity_step(args.identity_edges, out / "identity")
    RESULTS.record("machine_probe", end_s=machine_probe())
    probe = RESULTS.steps["machine_probe"]
    print(f"machine probe: {probe['start_s']:.2f} s at the start, {probe['end_s']:.2f} s at the end")
    print(f"figures saved to {RESULTS.path}")


def identity_step(edges: int, work: Path) -> None:
    """The identity macro against scipy and splink (scripts/identity_benchmark.py) in this run."""
    sizes = {"random": edges, "chains": 1_000, "star": 20_000}
    for kind, size in sizes.items():
        found = in_fresh_process(identity_compare, kind, size, work)
        names = {"macro / splink": "macro_vs_splink", "macro / scipy": "macro_vs_scipy"}
        row = {names.get(name, name): value for name, value in found.items()}
        print(
            f"identity {kind:<8} {row['nodes']:>10,} nodes: macro {row['macro_s']:7.1f} s, "
            f"splink {row['splink_s']:7.1f} s, scipy {row['scipy_s']:6.2f} s, "
            f"macro/splink {row['macro_vs_splink']:6.2f}x, agree {'yes' if row['all_agree'] else 'NO'}",
            flush=True,
        )
        plain = {name: (value.item() if hasattr(value, "item") else value) for name, value in row.items()}
        RESULTS.record(f"identity_{kind}", **plain)
        if not row["all_agree"]:
            sys.exit(f"identity benchmark: the three methods disagree on the {kind} graph")


def reused_generate_figures(results: Path, raw_dir: Path) -> dict | None:
    """With --reuse: the generator's figures measured when these very files were written (same
    row count), marked as reused; None when there is no such earlier measurement."""
    try:
        earlier = json.loads(results.read_text())
    except (OSError, ValueError):
        return None
    figures = earlier.get("steps", {}).get("generate")
    with duckdb.connect() as con:
        count = f"select count(*) from read_parquet('{raw_dir / 'raw_events.parquet'}')"
        rows = con.execute(count).fetchone()[0]
    if not figures or figures.get("rows") != rows:
        return None
    when = figures.get("measured_at") or earlier.get("meta", {}).get("started_at", "?")
    return {**figures, "measured_at": when, "reused": True}


def nightly_step(out: Path, raw_dir: Path, env: dict[str, str], lawn: str, twice: bool = True) -> None:
    """`lawn nightly`, then again on the same data (the first trains the churn model)."""
    # --dev: the checkout's local identity hash key (a benchmark is not production)
    nightly = [lawn, "nightly", "--dev", "--raw-dir", str(raw_dir), "--model-store", str(out / "models"),
               "--export-dir", str(out / "exports"), "--report-dir", str(out / "report")]  # fmt: skip
    shutil.rmtree(out / "models", ignore_errors=True)
    # exit 3 = an error-severity SLO breached: a verdict on the data, not a failed run
    timed("lawn nightly (trains the first model)", nightly, env, key="nightly", allowed=(0, 3))
    if twice:
        timed("lawn nightly again (same data)", nightly, env, key="nightly_again", allowed=(0, 3))


def print_outputs(out: Path, raw_dir: Path, db_path: Path) -> None:
    """The churn model cards and the row counts of the event path after the run."""
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
