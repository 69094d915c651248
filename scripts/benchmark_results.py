"""The benchmark's figures as data: scripts/benchmark.py records every step of one run into
``results.json`` (saved after each step, so a run that stops half-way keeps what it measured),
and ``render_table`` turns one or more runs into the README's performance table.

    .venv/bin/python scripts/benchmark_results.py docs/benchmarks/1m.json docs/benchmarks/10m.json

rewrites the block between the two markers in README.md from those files (``--check`` only
tells whether the README is current). Nothing in the table is typed by hand.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
START, END = "<!-- benchmark-table:start -->", "<!-- benchmark-table:end -->"


@dataclass
class Results:
    """One benchmark run: its settings, the machine, and one entry per step or figure."""

    path: Path | None = None
    meta: dict = field(default_factory=dict)
    steps: dict[str, dict] = field(default_factory=dict)

    def start(self, **settings: object) -> None:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        self.meta = {
            **settings,
            "commit": commit + (" with uncommitted changes" if dirty else ""),
            "started_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cores": os.cpu_count(),
            "machine": platform.machine(),
            "load_at_start": round(os.getloadavg()[0], 1),
        }
        self.save()

    def record(self, key: str, **figures: object) -> None:
        """Set figures (seconds, peak_mb, cpu_s, ratio, rows, ...) of step ``key``; save."""
        self.steps.setdefault(key, {}).update(figures)
        self.meta["load_now"] = round(os.getloadavg()[0], 1)
        self.save()

    def save(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"meta": self.meta, "steps": self.steps}, indent=2) + "\n")


def machine_probe(rounds: int = 3) -> float:
    """Seconds of one fixed, CPU-bound DuckDB query on one thread (best of ``rounds``): how fast
    the machine is at the time, so runs made at different times can be told apart from code
    changes. The same build on this VM took 294 s and 417 s half an hour apart (498 s and 716 s
    of CPU for the same work, docs/performance.md)."""
    import duckdb  # the benchmark's environment has it; rendering a table does not need it

    best = float("inf")
    with duckdb.connect() as con:
        con.execute("set threads = 1")
        for _ in range(rounds):
            start = time.perf_counter()
            con.execute("select sum(hash(i)) from range(100000000) as t(i)").fetchone()
            best = min(best, time.perf_counter() - start)
    return best


# (row label, step key, how the cell is written from that step's figures)
SECONDS_PEAK = "{seconds:,.0f} s, {peak_mb:,.0f} MB"
ROWS: tuple[tuple[str, str, str], ...] = (
    ("raw events (Parquet)", "generate", "{rows:,}"),
    (
        "machine probe (a fixed 1-thread DuckDB query, lower is faster): start, end",
        "machine_probe",
        "{start_s:.2f} s, {end_s:.2f} s",
    ),
    ("`lawn generate` (streaming)", "generate", SECONDS_PEAK),
    ("gate: `lawn validate-raw`", "validate", SECONDS_PEAK),
    (
        "full build (`lawn build --full-refresh`, all but the last day, all tests)",
        "full_build",
        SECONDS_PEAK + ", {cpu_s:,.0f} s CPU",
    ),
    (
        "staging nodes / hand-written floor (target <= 1.5x)",
        "staging_floor",
        "{ratio:.2f}x ({nodes_s:.0f} s / {floor_s:.0f} s)",
    ),
    ("one-day increment (`lawn build`)", "increment", SECONDS_PEAK + ", {cpu_s:,.0f} s CPU"),
    (
        "one-day increment / full build (target <= 0.10): wall, CPU",
        "increment",
        "{ratio:.2f}x, {cpu_ratio:.2f}x",
    ),
    ("incremental, no new data / full build", "no_new_data", "{ratio:.2f}x ({seconds:,.0f} s)"),
    ("`lawn nightly` (trains the first model)", "nightly", SECONDS_PEAK),
    ("`lawn nightly` again, same data (nothing exported)", "nightly_again", SECONDS_PEAK),
    (
        "identity, 1M random edges: macro / splink (target <= 2x)",
        "identity_random",
        "{macro_vs_splink:.1f}x ({macro_s:.0f} s / {splink_s:.0f} s)",
    ),
    (
        "identity, 1M random edges: macro / scipy",
        "identity_random",
        "{macro_vs_scipy:.1f}x (scipy {scipy_s:.1f} s)",
    ),
    ("identity, 20 chains of 1,000: macro / splink", "identity_chains", "{macro_vs_splink:.2f}x"),
    ("identity, star of 20,000: macro / splink", "identity_star", "{macro_vs_splink:.1f}x"),
)


def cell(run: dict, key: str, template: str) -> str:
    figures = run["steps"].get(key)
    if not figures:
        return "not run"
    try:
        return template.format(**figures)
    except (KeyError, ValueError, TypeError):
        return "not measured"


def render_table(runs: list[dict]) -> str:
    """The README's performance table: one column per run, one row per figure."""
    header = "| figure | " + " | ".join(run["meta"].get("label", "?") for run in runs) + " |"
    lines = [header, "|---|" + "---|" * len(runs)]
    for label, key, template in ROWS:
        lines.append(f"| {label} | " + " | ".join(cell(run, key, template) for run in runs) + " |")
    notes = []
    for run in runs:
        meta = run["meta"]
        notes.append(
            f"{meta.get('label', '?')}: `{meta.get('command', '')}` at commit {meta.get('commit', '?')}, "
            f"started {meta.get('started_at', '?')}, {meta.get('cores', '?')} cores, load average "
            f"{meta.get('load_at_start', '?')} at the start and {meta.get('load_now', '?')} at the last step."
        )
        if run["steps"].get("increment", {}).get("unit_tests") is False:
            notes[-1] += (
                " The incremental builds ran `lawn build --no-unit-tests`, as the nightly builds (dbt's"
                " unit tests test the models' code, not the new day; the full build runs them)."
            )
        generate = run["steps"].get("generate", {})
        if generate.get("reused"):
            when = generate.get("measured_at")
            notes[-1] += f" Generator figures: measured on {when}, when these same files were written."
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {note}" for note in notes) + "\n"


def replace_block(text: str, table: str) -> str:
    if START not in text or END not in text:
        raise SystemExit(f"README.md: the markers {START} and {END} are missing")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}{END}{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=Path, help="results.json files, one column each")
    parser.add_argument("--readme", type=Path, default=REPO / "README.md")
    parser.add_argument("--check", action="store_true", help="exit 1 when the README's table is not current")
    args = parser.parse_args()
    runs = []
    for path in args.runs:
        try:
            runs.append(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            sys.exit(f"{path}: cannot read the benchmark results ({exc})")
    text = args.readme.read_text()
    updated = replace_block(text, render_table(runs))
    if args.check:
        sys.exit(0 if updated == text else f"{args.readme}: the performance table is not current")
    args.readme.write_text(updated)


if __name__ == "__main__":
    main()
