"""scripts/compare_marts.py on two small hand-written DuckDB files (the refactoring check of
issue 16): identical tables pass, float noise below the tolerance passes, and every kind of
real difference is reported with exit 1; bad input exits 2."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compare_marts.py"
_spec = importlib.util.spec_from_file_location("compare_marts", SCRIPT)
assert _spec and _spec.loader
compare_marts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_marts)

BASE_ROWS = [
    ("a", 1, 0.1 + 0.2, True),
    ("b", 2, None, False),
    ("c", 3, 1e6 / 3, None),
]


def _write(path: Path, rows: list[tuple], extra_table: bool = False) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create table marts.fct_x (key varchar, n bigint, value double, flag boolean)")
    con.executemany("insert into marts.fct_x values (?, ?, ?, ?)", rows)
    if extra_table:
        con.execute("create table marts.fct_y (key varchar)")
    con.close()
    return path


def test_identical_files_and_reordered_rows_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _write(tmp_path / "before.duckdb", BASE_ROWS)
    after = _write(tmp_path / "after.duckdb", list(reversed(BASE_ROWS)))
    assert compare_marts.main([str(before), str(after)]) == 0
    assert "every table identical" in capsys.readouterr().out


def test_float_noise_below_tolerance_passes(tmp_path: Path) -> None:
    noisy = [("a", 1, 0.3, True), ("b", 2, None, False), ("c", 3, 1e6 / 3 * (1 + 1e-13), None)]
    before = _write(tmp_path / "before.duckdb", BASE_ROWS)
    after = _write(tmp_path / "after.duckdb", noisy)
    assert compare_marts.compare(before, after, "marts", 1e-9) == []


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ([("a", 1, 0.3 + 1e-6, True), BASE_ROWS[1], BASE_ROWS[2]], "value=0.3"),
        ([BASE_ROWS[0], ("b", 2, 0.0, False), BASE_ROWS[2]], "value=None vs 0.0"),
        ([BASE_ROWS[0], BASE_ROWS[1], ("c", 3, 1e6 / 3, False)], "flag=None vs False"),
        ([BASE_ROWS[0], ("bb", 2, None, False), BASE_ROWS[2]], "1 of 3 rows differ"),
        (BASE_ROWS[:2], "3 rows vs 2 rows"),
    ],
)
def test_real_differences_are_reported(tmp_path: Path, changed: list[tuple], expected: str) -> None:
    before = _write(tmp_path / "before.duckdb", BASE_ROWS)
    after = _write(tmp_path / "after.duckdb", changed)
    problems = compare_marts.compare(before, after, "marts", 1e-9)
    assert len(problems) == 1 and expected in problems[0], problems
    assert compare_marts.main([str(before), str(after)]) == 1


def test_a_table_in_one_file_only_is_reported(tmp_path: Path) -> None:
    before = _write(tmp_path / "before.duckdb", BASE_ROWS)
    after = _write(tmp_path / "after.duckdb", BASE_ROWS, extra_table=True)
    assert compare_marts.compare(before, after, "marts", 1e-9) == [f"marts.fct_y: only in {after}"]


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _write(tmp_path / "before.duckdb", BASE_ROWS)
    assert compare_marts.main([str(before), str(tmp_path / "missing.duckdb")]) == 2
    assert compare_marts.main([str(before), str(before), "--tolerance", "0"]) == 2
    err = capsys.readouterr().err
    assert "missing.duckdb: no such DuckDB file" in err and "--tolerance must be positive" in err
    assert compare_marts.main([str(before), str(before), "--schema", "nowhere"]) == 1
