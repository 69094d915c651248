"""The README's performance table is rendered from benchmark results files, not typed by hand:
scripts/benchmark_results.py (hand-written results here, cells checked by reading them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from benchmark_results import END, START, Results, machine_probe, render_table, replace_block  # noqa: E402


def hand_written_run(label: str, full_s: float, increment_s: float) -> dict:
    return {
        "meta": {"label": label, "command": "scripts/benchmark.py --accounts 1", "commit": "abc1234"},
        "steps": {
            "generate": {"seconds": 12.4, "peak_mb": 640.2, "rows": 1_038_779},
            "full_build": {"seconds": full_s, "peak_mb": 2048.0, "cpu_s": 300.0},
            "increment": {
                "seconds": increment_s,
                "peak_mb": 1500.0,
                "cpu_s": 30.0,
                "ratio": increment_s / full_s,
                "cpu_ratio": 0.1,
            },
            "identity_random": {
                "macro_s": 54.0,
                "splink_s": 27.0,
                "scipy_s": 9.0,
                "macro_vs_splink": 2.0,
                "macro_vs_scipy": 6.0,
            },
        },
    }


def row(table: str, starts: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"| {starts}"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_table_has_one_column_per_run_and_formats_each_figure() -> None:
    table = render_table([hand_written_run("1M", 150.0, 15.0), hand_written_run("10M", 1800.0, 90.0)])
    assert row(table, "figure") == ["figure", "1M", "10M"]
    assert row(table, "raw events")[1:] == ["1,038,779", "1,038,779"]
    assert row(table, "full build")[1:] == ["150 s, 2,048 MB, 300 s CPU", "1,800 s, 2,048 MB, 300 s CPU"]
    assert row(table, "one-day increment / full build")[1:] == ["0.10x, 0.10x", "0.05x, 0.10x"]
    assert row(table, "identity, 1M random edges: macro / splink")[1] == "2.0x (54 s / 27 s)"
    # a step the run did not reach, and a step missing one figure, say so instead of a number
    assert row(table, "`lawn nightly` (trains")[1] == "not run"
    assert "commit abc1234" in table
    # runs before the increment left unit tests out carry no note; those after say so
    assert "--no-unit-tests" not in table
    later = hand_written_run("1M later", 150.0, 12.0)
    later["steps"]["increment"]["unit_tests"] = False
    notes = render_table([hand_written_run("1M", 150.0, 15.0), later]).split("\n- ")[1:]
    assert ["--no-unit-tests" in note for note in notes] == [False, True]


def test_a_step_without_the_figure_is_not_measured() -> None:
    run = hand_written_run("1M", 150.0, 15.0)
    del run["steps"]["full_build"]["cpu_s"]
    assert row(render_table([run]), "full build")[1] == "not measured"


def test_machine_probe_row_shows_the_start_and_end_probe() -> None:
    probed = hand_written_run("10M", 300.0, 90.0)
    probed["steps"]["machine_probe"] = {"start_s": 0.412, "end_s": 0.55}
    unprobed = hand_written_run("10M earlier", 300.0, 90.0)  # runs before the probe existed
    table = render_table([probed, unprobed])
    assert row(table, "machine probe")[1:] == ["0.41 s, 0.55 s", "not run"]
    # a run stopped before its end probe (--generate-only) has the start figure only
    del probed["steps"]["machine_probe"]["end_s"]
    assert row(render_table([probed]), "machine probe")[1] == "not measured"


def test_machine_probe_times_real_work() -> None:
    # hashing and summing 100M integers on one thread takes more than 10 ms on any machine:
    # the figure is the query's time, not a constant or an empty call
    seconds = machine_probe(rounds=1)
    assert 0.01 < seconds < 60


def test_results_are_saved_after_every_step(tmp_path: Path) -> None:
    results = Results(path=tmp_path / "results.json")
    results.start(label="tiny")
    results.record("validate", seconds=1.5, peak_mb=100.0)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["steps"] == {"validate": {"seconds": 1.5, "peak_mb": 100.0}}
    assert saved["meta"]["label"] == "tiny" and saved["meta"]["cores"] >= 1


def test_readme_block_is_replaced_between_the_markers_only() -> None:
    text = f"intro\n{START}\nold table\n{END}\noutro\n"
    assert replace_block(text, "new table\n") == f"intro\n{START}\nnew table\n{END}\noutro\n"
    with pytest.raises(SystemExit, match="markers"):
        replace_block("no markers here", "x")


def test_readme_table_is_current_with_the_committed_results() -> None:
    def by_size_then_start(path: Path) -> tuple[int, str]:
        meta = json.loads(path.read_text())["meta"]
        return meta["accounts"], meta["started_at"]

    # 1M, then 10M; runs of one size oldest first
    runs = sorted((REPO / "docs" / "benchmarks").glob("*.json"), key=by_size_then_start)
    assert runs, "docs/benchmarks/*.json: the README table's source files are missing"
    command = [sys.executable, str(REPO / "scripts" / "benchmark_results.py"), *map(str, runs), "--check"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
