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
        ("action_rules", "cooldown_days", "1.5", "cooldown_days '1.5' is not an integer"),
        # what DuckDB does not trim or read, although Python's own parsers would
        ("bandit_registry", "is_enabled", "true ", "is_enabled 'true ' is not a boolean"),
        (
            "action_rules",
            "destination",
            "email_tool ",
            "destination 'email_tool ' is not one of email_tool, crm, in_app",
        ),
        (
            "automation_holdouts",
            "registered_at",
            "2026-W09-7",
            "registered_at '2026-W09-7' is not a timestamp",
        ),
    ],
)
def test_a_hand_edit_is_one_line_naming_file_line_column_and_value(tmp_path, name, column, value, said):
    seeds = _copy(tmp_path)
    path, line = _set(seeds, name, column, value)
    assert check_seeds(seeds) == f"{path} line {line}: {said}"


def test_an_accepted_values_test_on_the_column_itself(tmp_path):
    """`accepted_values` declared on a column (not in value_rules): a reviewer's `maybe`
    passed the gate and failed the build (a probe)."""
    seeds = _copy(tmp_path)
    path = seeds / "actions" / "action_review_decisions.csv"
    with open(path, "a", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(
            ["act-1", "maybe", "ana", "2026-03-01T10:00:00Z", "unsure"]
        )
    assert check_seeds(seeds) == f"{path} line 2: decision 'maybe' is not one of approve, reject"


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


@pytest.mark.parametrize(
    ("name", "column", "value"),
    [
        ("action_rules", "cooldown_days", "30.0"),  # dbt-duckdb loads 30
        ("bandit_registry", "draws", "20000.0"),
        ("bandit_registry", "is_enabled", "TRUE"),
        ("bandit_registry", "holdout_share", " 0.2 "),  # a number read with its spaces
        ("automation_holdouts", "registered_at", "2026-03-01T10:00:00.123456789Z"),
        ("automation_holdouts", "registered_at", "2026-03-01"),
    ],
)
def test_what_a_spreadsheet_writes_and_dbt_loads_is_accepted(tmp_path, name, column, value):
    """The legitimate edits a probe found refused (`30.0` for an integer) or checked against
    it, each loaded by dbt-duckdb's seed load as the value it means."""
    seeds = _copy(tmp_path)
    _set(seeds, name, column, value)
    assert check_seeds(seeds) is None


def test_a_byte_order_mark_is_read_in_every_seed(tmp_path):
    seeds = _copy(tmp_path)
    for path in seeds.glob("*/*.csv"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert check_seeds(seeds) is None


def test_the_tracking_plan_takes_a_bom_and_a_version_written_2_0(tmp_path, monkeypatch):
    from lawn.plan_check import check_plan
    from lawn.tracking_plan import load_tracking_plan

    plan = tmp_path / "tracking_plan"
    shutil.copytree(SEEDS_DIR / "tracking_plan", plan)
    for path in plan.glob("*.csv"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert check_plan(plan) is None  # it said "missing column 'event_name'"
    for name in ("tracking_plan_events.csv", "tracking_plan_properties.csv"):
        with open(plan / name, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
        at = rows[0].index("schema_version")
        for row in rows[1:]:
            row[at] += ".0"
        with open(plan / name, "w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    assert check_plan(plan) is None
    assert load_tracking_plan(plan).keys() == load_tracking_plan().keys()


def test_the_tracking_plan_does_not_trim_a_boolean(tmp_path):
    """`is_required` written `true ` passed the plan's gate and failed dbt's seed load after
    the raw files landed (a probe): the plan reads typed values by the same rule as the seeds."""
    from lawn.plan_check import check_plan

    plan = tmp_path / "tracking_plan"
    shutil.copytree(SEEDS_DIR / "tracking_plan", plan)
    path, line = _set(tmp_path, "tracking_plan_properties", "is_required", "true ")
    assert check_plan(plan) == f"{path} line {line}: is_required 'true ' is not a boolean"
