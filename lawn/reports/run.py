"""Build and write one cadence report for one as-of date (the entry point of `lawn report`
and of the nightly's report step)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from lawn.data_day import data_start
from lawn.reports import asof, page
from lawn.reports.reader import Reader
from lawn.warehouse import check_warehouse


def _sections(cadence: str, reader: Reader) -> list[page.Section]:
    from lawn.reports import daily, monthly, quarterly, weekly

    return {
        "daily": daily.build,
        "weekly": weekly.build,
        "monthly": monthly.build,
        "quarterly": quarterly.build,
    }[cadence](reader)


def build_report(
    db_path: Path,
    cadence: str,
    as_of: dt.date | None,
    out_dir: Path,
    model_store: Path,
    manifest: Path,
    catalog: Path | None = None,
    engine: str = "duckdb",
) -> page.Report:
    """The report of ``cadence`` for ``as_of`` (default: the warehouse's data day). The
    quarterly report archives the day's data dictionary first: ``catalog`` (a
    data_dictionary.csv) when given, else `lawn catalog` run on the warehouse. ``engine``
    postgres: ``db_path`` is a mirror of the report relations (lawn/reports/mirror.py), so no
    catalog is made from it and the retention check says it is not available."""
    cadence = asof.parse_cadence(cadence)
    # a missing file or one that is not a DuckDB warehouse is bad input (exit 2), a damaged one
    # a failure (exit 1): one line either way
    check_warehouse(db_path, write=False, must_exist=True)
    with duckdb.connect(str(db_path), read_only=True) as con:
        day = as_of or asof.default_as_of(con)
        latest = asof.default_as_of(con)
        first = data_start(con)
    if day > latest:
        raise asof.ReportInputError(f"--as-of {day} is after the warehouse's data day {latest}")
    if first is not None and day < first:
        # every figure would be a zero of days the data never saw, under a title that says
        # "data through" that day
        raise asof.ReportInputError(
            f"--as-of {day} is before the data starts ({first}, the oldest event's day)"
        )
    if cadence == "quarterly":
        from lawn.reports.compliance import Unavailable, archive_catalog, note_unavailable

        folder = page.report_folder(out_dir, cadence, day)
        try:
            if engine == "duckdb" or catalog is not None:
                archive_catalog(folder, db_path, catalog)
            else:
                note_unavailable(
                    folder,
                    f"`lawn catalog` reads a DuckDB warehouse; on {engine} give --catalog, a "
                    "data_dictionary.csv of `lawn catalog`",
                )
        except Unavailable as exc:
            raise asof.ReportInputError(str(exc)) from exc
    with duckdb.connect(str(db_path), read_only=True) as con:
        start = asof.period_start(cadence, day)
        folder = page.report_folder(out_dir, cadence, day)
        reader = Reader(con, day, start, model_store, manifest, folder, engine)
        return page.Report(cadence, day, start, _sections(cadence, reader))


def write_cadence_report(
    db_path: Path,
    cadence: str,
    as_of: dt.date | None,
    out_dir: Path,
    model_store: Path,
    manifest: Path,
    catalog: Path | None = None,
    engine: str = "duckdb",
) -> tuple[Path, Path, Path | None]:
    """Write <out>/<cadence>/<as-of>/report.html and report.md (+ plot PNGs); the third value is
    where an earlier, different report of the same day was kept (None: there was none, or it
    was the same)."""
    report = build_report(db_path, cadence, as_of, out_dir, model_store, manifest, catalog, engine)
    return page.write(report, out_dir)


def write_due_reports(
    db_path: Path, out_dir: Path, model_store: Path, manifest: Path, engine: str = "duckdb"
) -> list[tuple[str, Path]]:
    """The nightly's reports: those due on the warehouse's data day (asof.due_cadences), each
    archived in its dated folder. Returns (cadence, html path) pairs."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        day = asof.default_as_of(con)
    return [
        (
            cadence,
            write_cadence_report(db_path, cadence, day, out_dir, model_store, manifest, None, engine)[0],
        )
        for cadence in asof.due_cadences(day)
    ]
