"""`lawn did` on a hand-written panel spelled the ways an analyst's spreadsheet export spells
it (tests_py/fixtures/did/spreadsheet_months.csv): every spelling gives the clean panel's
estimates (checked against statsmodels OLS with unit and period dummies, clustered by unit),
and a broken one is one line naming the file, the line and the column, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from typer.testing import CliRunner

from lawn.cli import app

runner = CliRunner()
BASE = Path("tests_py/fixtures/did/spreadsheet_months.csv")
OPTIONS = ["--unit", "unit", "--time", "month", "--outcome", "revenue", "--treat", "treated"]
MONTHS = [f"2024-0{m}" for m in range(1, 7)]


def _lines() -> list[str]:
    return BASE.read_text().splitlines()


def _respelled(column: int, mapping) -> list[str]:
    """The fixture's lines with column ``column`` of every data line passed through ``mapping``."""
    header, *rows = _lines()
    out = [header]
    for row in rows:
        cells = row.split(",")
        cells[column] = mapping(cells[column])
        out.append(",".join(cells))
    return out


def _did(path: Path, *extra: str):
    return runner.invoke(app, ["did", "--input", str(path), *OPTIONS, *extra])


def _payload(path: Path, *extra: str) -> dict:
    result = _did(path, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _twfe_statsmodels(frame: pd.DataFrame) -> tuple[float, float]:
    """TWFE by dummies, cluster-robust by unit, rescaled to fixest's small-sample K (the unit
    dummies are nested in the clusters: K = 1 regressor + T periods)."""
    fit = smf.ols("revenue ~ treated + C(unit) + C(month)", frame).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(frame["unit"])[0]}
    )
    n, k, periods = len(frame), len(fit.params), frame["month"].nunique()
    return float(fit.params["treated"]), float(fit.bse["treated"] * np.sqrt((n - k) / (n - 1 - periods)))


def _twfe(payload: dict) -> dict:
    return next(r for r in payload["results"] if r["design"] == "twfe")


def _write(tmp_path: Path, name: str, lines: list[str], newline: str = "\n", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


MONTH_NAMES = dict(
    zip(MONTHS, ["Jan 2024", "Feb 2024", "Mar 2024", "Apr 2024", "May 2024", "Jun 2024"], strict=True)
)
US_DATES = dict(
    zip(MONTHS, ["1/31/2024", "2/29/2024", "3/31/2024", "4/30/2024", "5/31/2024", "6/30/2024"], strict=True)
)
DE_DATES = dict(
    zip(
        MONTHS,
        ["31.01.2024", "29.02.2024", "31.03.2024", "30.04.2024", "31.05.2024", "30.06.2024"],
        strict=True,
    )
)
WEEKS = dict(
    zip(MONTHS, ["2024-W01", "2024-W05", "2024-W09", "2024-W14", "2024-W18", "2024-W22"], strict=True)
)
FLAGS = {"yes/no": ("yes", "no"), "Yes/No": ("Yes", "No"), "TRUE/FALSE": ("TRUE", "FALSE"), "y/n": ("Y", "N")}


def _spellings(tmp_path: Path) -> dict[str, Path]:
    lines = _lines()
    header, rows = lines[0], lines[1:]
    files = {
        "month names": _write(tmp_path, "names.csv", _respelled(1, MONTH_NAMES.get)),
        "US dates": _write(tmp_path, "us.csv", _respelled(1, US_DATES.get)),
        "German dates": _write(tmp_path, "de.csv", _respelled(1, DE_DATES.get)),
        "ISO weeks": _write(tmp_path, "weeks.csv", _respelled(1, WEEKS.get)),
        "ids as numbers": _write(tmp_path, "ids.csv", _respelled(0, lambda u: f"{ord(u[0])}{u[1]}")),
        "BOM, CRLF, padded header": _write(
            tmp_path, "bom.csv", [" unit , month,revenue ,treated  ", *rows], "\r\n", "utf-8-sig"
        ),
        "padded cells": _write(tmp_path, "padded.csv", _respelled(0, lambda u: u + " ")),
        "semicolons, decimal comma": _write(
            tmp_path, "semi.csv",
            [header.replace(",", ";")] + [r.replace(",", ";").replace(".", ",") for r in rows],
        ),
        "Windows-1252, tabs": _write(
            tmp_path, "cp1252.csv",
            [header.replace(",", "\t")] + [r.replace("b1", "Zürich").replace(",", "\t") for r in rows],
            "\r\n", "cp1252",
        ),
        "UTF-16 text, tabs (Excel 'Unicode Text')": _write(
            tmp_path, "unicode.txt", [r.replace(",", "\t") for r in lines], "\r\n", "utf-16"
        ),
    }  # fmt: skip
    for name, (on, off) in FLAGS.items():
        files[f"flags {name}"] = _write(
            tmp_path,
            f"flags_{len(files)}.csv",
            _respelled(3, lambda d, on=on, off=off: on if d == "1" else off),
        )
    return files


def test_every_spreadsheet_spelling_gives_the_clean_panels_estimates(tmp_path):
    clean = pd.read_csv(BASE)
    estimate, std_error = _twfe_statsmodels(clean)
    reference = _payload(BASE)
    assert _twfe(reference)["estimates"][0]["estimate"] == pytest.approx(estimate, abs=1e-12)
    assert _twfe(reference)["estimates"][0]["std_error"] == pytest.approx(std_error, rel=1e-10)
    expected = [[e["estimate"] for e in r["estimates"]] for r in reference["results"]]
    for name, path in _spellings(tmp_path).items():
        payload = _payload(path)
        assert payload["errors"] == {}, name
        assert [r["design"] for r in payload["results"]] == ["twfe", "event_study", "callaway_santanna"], name
        got = [[e["estimate"] for e in r["estimates"]] for r in payload["results"]]
        assert got == [pytest.approx(values, abs=1e-12) for values in expected], name
        assert payload["results"][0]["units"] == 6 and payload["results"][0]["observations"] == 36, name


def test_spelled_periods_keep_their_labels(tmp_path):
    payload = _payload(_write(tmp_path, "names.csv", _respelled(1, MONTH_NAMES.get)))
    cs = next(r for r in payload["results"] if r["design"] == "callaway_santanna")
    assert cs["details"]["cohort_sizes"] == {"Mar 2024": 2, "May 2024": 1}


def test_missing_cells_are_left_out_and_counted(tmp_path):
    blanks = {5: 2, 14: 3}  # data row -> column emptied (a revenue, a treated cell)
    header, *rows = _lines()
    cut = []
    for index, row in enumerate(rows):
        cells = row.split(",")
        if index in blanks:
            cells[blanks[index]] = ""
        cut.append(",".join(cells))
    path = _write(tmp_path, "holes.csv", [header, *cut[:10], "", *cut[10:]])  # and a blank line
    payload = _payload(path, "--estimator", "twfe")
    twfe = _twfe(payload)
    complete = pd.read_csv(BASE).drop(index=list(blanks))
    estimate, std_error = _twfe_statsmodels(complete)
    assert twfe["observations"] == 34
    assert twfe["estimates"][0]["estimate"] == pytest.approx(estimate, abs=1e-12)
    assert twfe["estimates"][0]["std_error"] == pytest.approx(std_error, rel=1e-10)
    assert twfe["warnings"] == [
        "2 row(s) left out for a missing value (revenue: 1, treated: 1); the first at line 7 of holes.csv"
    ]


def test_a_gap_before_adoption_leaves_the_unit_out_of_the_event_study(tmp_path):
    """a1 is not observed in 2024-03, its first treated month: counting its event time from
    2024-04 would put its first treated month at e = 0 instead of e = 1."""
    header, *rows = _lines()
    path = _write(tmp_path, "gap.csv", [header, *(r for r in rows if not r.startswith("a1,2024-03"))])
    study = next(r for r in _payload(path, "--estimator", "event-study")["results"])
    assert study["units"] == 5 and study["details"]["units_with_unobserved_adoption_dropped"] == 1
    assert "(e.g. 'a1')" in study["warnings"][0]
    frame = pd.read_csv(BASE)
    frame = frame[frame["unit"] != "a1"].copy()
    adopt = frame[frame["treated"] == 1].groupby("unit")["month"].min().map(MONTHS.index)
    relative = frame["month"].map(MONTHS.index) - frame["unit"].map(adopt)
    names = {}
    for e in (-4, -3, -2, 0, 1, 2, 3):
        column = f"e{e + 4}"
        frame[column] = (relative == e).astype(float)
        if frame[column].any():
            names[e] = column
    fit = smf.ols(f"revenue ~ {' + '.join(names.values())} + C(unit) + C(month)", frame).fit()
    got = {e["event"]: e["estimate"] for e in study["estimates"]}
    assert got == pytest.approx({e: fit.params[column] for e, column in names.items()}, abs=1e-10)


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        # the same month spelled twice for one unit: two rows in one period, not two periods
        ("respelled.csv", lambda lines: [*lines, "a1,2024-03-01,13.2,1"],
         "more than one row for unit 'a1' at month = '2024-03' (line 4 of respelled.csv and line 38 of "
         "respelled.csv)"),
        ("padded_period.csv", lambda lines: [*lines, "a1, 2024-03 ,13.2,1"],
         "more than one row for unit 'a1'"),
        ("padded_unit.csv", lambda lines: [*lines, "a1 ,2024-03,13.2,1"], "more than one row for unit 'a1'"),
        ("thousands.csv", lambda lines: [*lines[:3], 'a1,2024-03,"13,167",1', *lines[4:]],
         "revenue is not a number at line 4 of thousands.csv: '13,167': write numbers without thousands "
         "separators and with a '.' decimal point"),
        ("inf.csv", lambda lines: [*lines[:3], "a1,2024-03,inf,1", *lines[4:]],
         "revenue is not finite at line 4 of inf.csv"),
        ("excel_error.csv", lambda lines: [*lines[:3], "a1,2024-03,#DIV/0!,1", *lines[4:]],
         "revenue is not a number at line 4 of excel_error.csv: '#DIV/0!'"),
        ("flag.csv", lambda lines: [*lines[:3], "a1,2024-03,13.167,maybe", *lines[4:]],
         "treated (--treat) must be 0/1 (or true/false, yes/no); got 'maybe' at line 4 of flag.csv"),
        ("ambiguous.csv",
         lambda lines: [lines[0], *(r.replace("2024-01", "01/02/2024").replace("2024-02", "02/01/2024")
                                    for r in lines[1:] if r.split(",")[1] in ("2024-01", "2024-02"))],
         "read both as %m/%d/%Y and as %d/%m/%Y"),
        ("weeks_without_year.csv", lambda lines: [lines[0], *(r.replace(",2024-0", ",W") for r in lines[1:])],
         "cannot order the periods of month: 'W1'"),
    ],
)  # fmt: skip
def test_a_broken_export_is_one_line_naming_file_line_and_column(tmp_path, name, edit, message):
    result = _did(_write(tmp_path, name, edit(_lines())))
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_a_workbook_is_refused_with_what_to_do(tmp_path):
    """An .xlsx passed as it is was decoded as text and gave a column list of binary junk."""
    book = tmp_path / "panel.xlsx"
    book.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    result = _did(book)
    assert result.exit_code == 2
    assert "panel.xlsx: a spreadsheet workbook; save the sheet as CSV (or Parquet)" in result.output
