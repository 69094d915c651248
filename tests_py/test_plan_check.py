"""The tracking plan's gate (lawn/plan_check.py): each hand edit a probe made (2026-12-07) to
seeds/tracking_plan/*.csv, on a copy of the plan, is one line naming the file, the CSV line
and the value; the shipped plan passes; `lawn validate-raw` and `lawn build` stop on it with
exit 2 before any raw file is read or landed."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lawn.paths import TRACKING_PLAN_DIR
from lawn.plan_check import check_plan

EVENTS = "tracking_plan_events.csv"
PROPERTIES = "tracking_plan_properties.csv"


def _copy(tmp_path: Path) -> Path:
    plan = tmp_path / "tracking_plan"
    shutil.copytree(TRACKING_PLAN_DIR, plan)
    return plan


def _edit(plan: Path, name: str, edit) -> int:
    """Apply ``edit(rows)`` to the rows of ``name`` (header first); the CSV line of the last row."""
    with open(plan / name, newline="") as handle:
        rows = list(csv.reader(handle))
    edit(rows)
    with open(plan / name, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return len(rows)


def _set(rows: list[list[str]], event: str, prop: str | None, column: str, value: str) -> int:
    """Set ``column`` of the first row of ``event`` (and ``prop``); its CSV line."""
    header = rows[0]
    for number, row in enumerate(rows[1:], start=2):
        if row[0] == event and (prop is None or row[header.index("property_name")] == prop):
            row[header.index(column)] = value
            return number
    raise AssertionError((event, prop))


def _first_property(plan: Path) -> tuple[str, str, str]:
    with open(plan / PROPERTIES, newline="") as handle:
        row = next(csv.DictReader(handle))
    return row["event_name"], row["schema_version"], row["property_name"]


def test_the_shipped_plan_passes():
    assert check_plan() is None


@pytest.mark.parametrize(
    ("name", "column", "value", "message"),
    [
        (PROPERTIES, "min_value", "1000000", "min_value 1000000 is above max_value"),
        (PROPERTIES, "property_name", "{prop} ", "property_name '{prop} ' has white space around it"),
        (PROPERTIES, "allowed_values", "pdf | csv", "'pdf | csv' has an empty or padded item ('pdf ')"),
        (PROPERTIES, "allowed_values", "pdf||csv", "has an empty or padded item ('')"),
        (PROPERTIES, "data_type", "bool", "data_type 'bool' is not one of string, integer, number, boolean"),
        (PROPERTIES, "pii_class", "persnal", "'persnal' is not one of none, pseudonymous, personal"),
        (PROPERTIES, "pattern", "^[a-z", "pattern '^[a-z' does not compile"),
        (PROPERTIES, "is_required", "maybe", "is_required 'maybe' is not a boolean"),
        (PROPERTIES, "min_value", "zero", "min_value 'zero' is not a double"),
        (EVENTS, "status", "active", "status 'active' is not one of live, retired"),
        (EVENTS, "released_on", "2026-02-30", "released_on '2026-02-30' is not a date"),
        (EVENTS, "schema_version", "", "schema_version is empty"),
    ],
)  # fmt: skip
def test_a_bad_edit_is_one_line_naming_the_file_line_and_value(tmp_path, name, column, value, message):
    plan = _copy(tmp_path)
    event, _, prop = _first_property(plan)
    if column == "min_value" and value == "1000000":
        _edit(plan, PROPERTIES, lambda rows: _set(rows, event, prop, "max_value", "0"))
    lines = []
    owner = prop if name == PROPERTIES else None
    _edit(plan, name, lambda rows: lines.append(_set(rows, event, owner, column, value.format(prop=prop))))
    problem = check_plan(plan)
    assert problem is not None and "\n" not in problem
    assert problem.startswith(f"{plan / name} line {lines[0]}: "), problem
    assert message.format(prop=prop) in problem, problem


def test_an_event_name_padded_in_both_files_is_refused(tmp_path):
    """`report_exported ` in both seeds was silently accepted: every such event UNKNOWN_EVENT."""
    plan = _copy(tmp_path)
    event, _, _ = _first_property(plan)
    line = _edit(plan, EVENTS, lambda rows: _set(rows, event, None, "event_name", event + " "))
    assert check_plan(plan) is not None and "has white space around it" in check_plan(plan)
    assert f"{EVENTS} line " in check_plan(plan) and line > 1


def test_repeated_rows_orphan_properties_and_header_typos(tmp_path):
    plan = _copy(tmp_path)
    event, version, prop = _first_property(plan)
    rows_before = len((plan / PROPERTIES).read_text().splitlines())
    _edit(plan, PROPERTIES, lambda rows: rows.append(list(rows[1])))
    assert check_plan(plan) == (
        f"{plan / PROPERTIES} line {rows_before + 1}: repeats line 2 ({event} / {version} / {prop}: "
        "one row per property of an event version)"
    )
    plan = _copy(tmp_path / "orphan")
    _edit(plan, PROPERTIES, lambda rows: rows.append([event, "7", *rows[1][2:]]))
    assert f"event {event!r} version 7 is not in tracking_plan_events.csv" in check_plan(plan)
    plan = _copy(tmp_path / "typo")
    _edit(plan, PROPERTIES, lambda rows: rows[0].__setitem__(rows[0].index("is_required"), "is_requried"))
    assert check_plan(plan) == (
        f"{plan / PROPERTIES} line 1: missing column 'is_required'; unknown column 'is_requried' (columns: "
        "event_name, schema_version, property_name, data_type, is_required, allowed_values, min_value, "
        "max_value, pattern, pii_class, owner, purpose)"
    )


def test_validate_raw_and_build_stop_on_the_plan_before_reading_any_file(tmp_path, monkeypatch):
    """The gate runs first: exit 2, one line, no warehouse written (the raw folder is not even
    read: it does not exist here)."""
    from lawn import plan_check
    from lawn.cli import app

    plan = _copy(tmp_path)
    event, _, prop = _first_property(plan)
    _edit(plan, PROPERTIES, lambda rows: _set(rows, event, prop, "data_type", "bool"))
    monkeypatch.setattr(plan_check, "TRACKING_PLAN_DIR", plan)
    monkeypatch.setattr(plan_check.check_plan, "__defaults__", (plan,))
    db = tmp_path / "w.duckdb"
    for args in (["validate-raw", "--raw-dir", str(tmp_path / "raw")],
                 ["build", "--raw-dir", str(tmp_path / "raw")]):  # fmt: skip
        result = CliRunner().invoke(app, args, env={"COLUMNS": "300", "LAWN_DUCKDB_PATH": str(db)})
        assert result.exit_code == 2, result.output
        assert "data_type 'bool' is not one of" in result.output
        assert not db.exists()
