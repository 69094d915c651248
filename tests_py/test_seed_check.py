"""The configuration seeds' gate (lawn/seed_check.py): the hand edits a probe made (2026-12-07)
to seeds/metrics/automation_holdouts.csv and seeds/bandits/bandit_registry.csv, and a few more
a spreadsheet makes, on a copy of the seeds, are each one line naming the file, the CSV line,
the column and the value; the shipped seeds pass; `lawn validate-raw` and `lawn build` stop on
it with exit 2 before any raw file is read or landed (the nightly failed at its build step,
exit 1, naming a dbt test and no row).

The expected messages are written by hand from the seeds' YAML rules (a range's bounds, the
`strictly` flags, the accepted values), not produced by the code under test."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lawn import seed_check
from lawn.seed_check import SEEDS_DIR, check_seeds


def _copy(tmp_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    return seeds


def _set(seeds: Path, name: str, column: str, value: str, row: int = 1) -> tuple[Path, int]:
    """Set ``column`` of data row ``row`` of seed ``name``; the file and the CSV line."""
    path = next(seeds.glob(f"*/{name}.csv"))
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    rows[row][rows[0].index(column)] = value
    with open(path, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path, row + 1


def test_the_shipped_seeds_pass():
    assert check_seeds() is None


@pytest.mark.parametrize(
    ("name", "column", "value", "said"),
    [
        ("automation_holdouts", "holdout_share", "abc", "holdout_share 'abc' is not a number"),
        ("automation_holdouts", "holdout_share", "10%", "holdout_share '10%' is not a number"),
        ("automation_holdouts", "holdout_share", "1", "holdout_share '1' must be at least 0 and at most 0.5"),
        ("automation_holdouts", "unit_type", "user", "unit_type 'user' is not one of account"),
        (
            "bandit_registry",
            "reward_window_days",
            "0",
            "reward_window_days '0' must be at least 1 and at most 90",
        ),
        ("bandit_registry", "reward_window_days", "7.5", "reward_window_days '7.5' is not an integer"),
        ("bandit_registry", "holdout_share", "0", "holdout_share '0' must be above 0 and below 1"),
        ("bandit_registry", "holdout_share", "1", "holdout_share '1' must be above 0 and below 1"),
        ("bandit_registry", "prior_alpha", "0", "prior_alpha '0' must be above 0"),
        (
            "bandit_registry",
            "context_column",
            "segments",
            "context_column 'segments' is not one of all, segment",
        ),
        ("bandit_registry", "draws", "", "draws is empty (it may not be)"),
        ("bandit_registry", "is_enabled", "maybe", "is_enabled 'maybe' is not a boolean"),
        ("bandit_registry", "bandit_id", "", "bandit_id is empty (part of the key bandit_id)"),
        ("action_rules", "cooldown_days", "0", "cooldown_days '0' must be at least 1 and at most 365"),
    ],
)
def test_a_hand_edit_is_one_line_naming_file_line_column_and_value(tmp_path, name, column, value, said):
    seeds = _copy(tmp_path)
    path, line = _set(seeds, name, column, value)
    assert check_seeds(seeds) == f"{path} line {line}: {said}"


def test_a_repeated_key_and_an_extra_value(tmp_path):
    seeds = _copy(tmp_path)
    arms = next(seeds.glob("*/bandit_arms.csv"))
    lines = arms.read_text().splitlines()
    arms.write_text("\n".join([*lines, lines[1]]) + "\n")
    first = lines[1].split(",")
    assert check_seeds(seeds) == (
        f"{arms} line {len(lines) + 1}: repeats line 2 (bandit_id, arm {first[0]} / {first[1]}: one row each)"
    )
    holdouts = next(seeds.glob("*/automation_holdouts.csv"))
    text = holdouts.read_text().splitlines()
    arms.write_text("\n".join(lines) + "\n")
    holdouts.write_text("\n".join([text[0], text[1] + ",extra", *text[2:]]) + "\n")
    header = len(text[0].split(","))
    assert check_seeds(seeds) == f"{holdouts} line 2: more values than the header's {header} columns"


def test_validate_raw_and_build_stop_on_a_seed_before_reading_any_file(tmp_path, monkeypatch):
    from lawn.cli import app

    seeds = _copy(tmp_path)
    _set(seeds, "automation_holdouts", "holdout_share", "abc")
    monkeypatch.setattr(seed_check.check_seeds, "__defaults__", (seeds,))
    db = tmp_path / "w.duckdb"
    for args in (["validate-raw", "--raw-dir", str(tmp_path / "raw")],
                 ["build", "--raw-dir", str(tmp_path / "raw")]):  # fmt: skip
        result = CliRunner().invoke(app, args, env={"COLUMNS": "300", "LAWN_DUCKDB_PATH": str(db)})
        assert result.exit_code == 2, result.output
        assert "holdout_share 'abc' is not a number" in result.output
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in result.output
        assert not db.exists()
