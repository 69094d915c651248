"""The raw-file gate: Great Expectations on exactly the rows the loader lands.

The loader (`lawn.raw_loader`) reads each file with DuckDB, columns matched by name, into
text; this module checks those landed rows before the transaction commits. A broken file
(missing required column, unparseable timestamps, no rows, duplicate keys, not UTF-8,
truncated) stops the run with one line naming the file, the line or row and the problem,
and nothing is landed. Row-level dirt (a bad event) is *not* a broken file: it is loaded
and quarantined by the staging models. No error line ever quotes a row's contents beyond
the one offending value of a checked column.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path

import duckdb
import pandas as pd

from lawn.contract import RAW_TABLES, RawColumn, RawTable, null_markers
from lawn.raw_loader import LoadReport, land_raw_dir
from lawn.raw_reader import RawFileError
from lawn.raw_row_rules import row_rule_errors

__all__ = ["RAW_TABLES", "RawFileError", "check_landed", "land_and_check", "validate_raw_dir"]

# the staging pattern (macros/portability/parse_iso_timestamp_utc.sql) restated: fields
# range-checked, an offset of Z, +hh:mm, +hhmm or hours only (+00, PostgreSQL's text output),
# at most 14:59 either way
# (seconds are optional; without an offset a date alone is midnight UTC)
_DAY = r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_HOURS_MINUTES = r"(?:[01]\d|2[0-3]):[0-5]\d"
_SECONDS = r":[0-5]\d(?:\.\d{1,9})?"
_OFFSET = r"(?:Z|[+-](?:0\d|1[0-4])(?::?[0-5]\d)?)"
ISO_TIMESTAMP_WITH_OFFSET = rf"^{_DAY}[T ]{_HOURS_MINUTES}(?:{_SECONDS})?{_OFFSET}$"
_WITHOUT_OFFSET = rf"{_DAY}(?:[T ]{_HOURS_MINUTES}(?:{_SECONDS})?)?"
ISO_TIMESTAMP = rf"^(?:{_DAY}[T ]{_HOURS_MINUTES}(?:{_SECONDS})?{_OFFSET}|{_WITHOUT_OFFSET})$"
ISO_DATE = rf"^{_DAY}$"
# numbers as the try_cast macro reads them (macros/portability/try_cast.sql): an integer may
# carry an all-zero fraction (7.0); no currency signs, no thousands separators
INTEGER = r"^[+-]?\d+(?:\.0*)?$"
DECIMAL = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
# a share: a decimal, or a percent as a spreadsheet writes it (the share_from_text macro)
SHARE = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?: ?%)?$"


def _suite(table: RawTable, has_rows_required: bool):
    import great_expectations as gx

    suite = gx.ExpectationSuite(name="raw")
    if has_rows_required:
        suite.add_expectation(gx.expectations.ExpectTableRowCountToBeBetween(min_value=1))
    for column in table.columns:
        if column.parse_share is not None and column.kind == "timestamp":
            suite.add_expectation(
                gx.expectations.ExpectColumnValuesToMatchRegex(
                    column=column.name,
                    regex=ISO_TIMESTAMP_WITH_OFFSET if column.needs_offset else ISO_TIMESTAMP,
                    mostly=column.parse_share,
                )
            )
        pattern = {"date": ISO_DATE, "integer": INTEGER, "decimal": DECIMAL, "share": SHARE}.get(column.kind)
        if column.parse_share is not None and pattern is not None:
            suite.add_expectation(
                gx.expectations.ExpectColumnValuesToMatchRegex(
                    column=column.name, regex=pattern, mostly=column.parse_share
                )
            )
        if column.not_null:
            suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column=column.name))
        if column.unique:
            suite.add_expectation(gx.expectations.ExpectColumnValuesToBeUnique(column=column.name))
    return suite


# rows per Great Expectations batch: the gate's memory stays flat in the file's size (a 10M-row
# file as one pandas frame of text took 9 GB); tables with a unique column are checked whole
# DuckDB's memory while landing and gating (it spills beyond it: the warehouse to <db>.tmp)
GATE_MEMORY_LIMIT = "1GB"
CHUNK_VECTORS = 512  # DuckDB vectors of 2,048 rows: 1,048,576 rows per batch


def _describe(
    path: Path,
    frame: pd.DataFrame,
    failure,
    offset: int = 0,
    bad_total: int | None = None,
    table: RawTable | None = None,
) -> str:
    """Turn a failed expectation into one readable line naming the file (and a row). ``frame``
    holds the file's rows from data row ``offset + 1``; ``bad_total`` counts the bad values of
    the whole file when the frame is one batch of it."""
    kind = failure.expectation_config.type
    kwargs = failure.expectation_config.kwargs
    column = kwargs.get("column")
    if kind == "expect_table_row_count_to_be_between":
        return f"{path}: file is empty (header only, no rows)"
    if kind == "expect_column_values_to_match_regex":
        values = frame[column].str.strip()
        bad = values.notna() & ~values.fillna("").str.match(kwargs["regex"])
        first = int(bad.idxmax())
        what = {
            ISO_DATE: "a date (YYYY-MM-DD)",
            INTEGER: "an integer (no thousands separators)",
            DECIMAL: "a number (no currency sign or thousands separators)",
            SHARE: "a share (0.05, or a percent: 5%)",
            ISO_TIMESTAMP_WITH_OFFSET: "an ISO 8601 timestamp with an offset or Z",
        }.get(kwargs["regex"], "an ISO 8601 timestamp")
        count = int(bad.sum()) if bad_total is None else bad_total
        return (
            f"{path}: column '{column}' has {count} value(s) that are not {what}, "
            f"first at data row {offset + first + 1}: {frame[column].iloc[first][:40]!r}"
        )
    if kind == "expect_column_values_to_not_be_null":
        first = int(frame[column].isna().idxmax())
        empty = int(frame[column].isna().sum()) if bad_total is None else bad_total
        what = "empty"
        if table is not None and table.column(column).kind == "identifier":
            what = "empty or a null marker (NULL, \\N, N/A, ...)"
        return (
            f"{path}: column '{column}' is {what} in {empty} row(s), first at data row {offset + first + 1}"
        )
    if kind == "expect_column_values_to_be_unique":
        dupes = frame[column][frame[column].duplicated(keep=False)].dropna().unique()
        return f"{path}: column '{column}' has duplicate values, e.g. {dupes[0][:40]!r}"
    return f"{path}: failed {kind} {kwargs}"


@contextmanager
def _without_batch_fingerprint() -> Iterator[None]:
    """Great Expectations fingerprints every in-memory batch under HASH_THRESHOLD bytes by
    hashing all of its values, twice per validation: batch metadata no expectation reads and
    lawn never keeps (the context is ephemeral), and 80% of the gate's time on 1M-row
    batches. Off while the gate validates, restored after; tests_py/test_validate_raw.py
    checks the switch still exists in the pinned version and that results do not change."""
    from great_expectations.execution_engine import pandas_execution_engine

    threshold = pandas_execution_engine.HASH_THRESHOLD
    pandas_execution_engine.HASH_THRESHOLD = 0
    try:
        yield
    finally:
        pandas_execution_engine.HASH_THRESHOLD = threshold


def _validator(table: RawTable, fingerprint: bool = False):
    """A function validating one pandas frame against ``table``'s suite (one ephemeral context);
    ``fingerprint`` keeps Great Expectations' batch fingerprint (only to test it changes nothing)."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    asset = context.data_sources.add_pandas("raw").add_dataframe_asset(name=table.name)
    whole = asset.add_batch_definition_whole_dataframe("whole")

    def validate(frame: pd.DataFrame, suite):
        with nullcontext() if fingerprint else _without_batch_fingerprint():
            return whole.get_batch(batch_parameters={"dataframe": frame}).validate(suite)

    return validate


def _as_text(data_type):
    """Arrow text columns as pandas' nullable string dtype (pyarrow storage)."""
    import pyarrow as pa

    text = pa.types.is_string(data_type) or pa.types.is_large_string(data_type)
    return pd.StringDtype("pyarrow") if text or pa.types.is_string_view(data_type) else None


def _text_frames(relation: duckdb.DuckDBPyRelation, rows: int | None) -> Iterator[pd.DataFrame]:
    """The relation's rows as frames of text (nulls as <NA>), ``rows`` at a time (None: one
    frame of everything), each indexed from 0; at least one frame (empty for no rows). Arrow
    all the way: fetching chunks as columns of Python strings and converting them cost more
    than the expectations themselves at 10M rows."""
    if rows is None:
        yield relation.to_arrow_table().to_pandas(types_mapper=_as_text).astype("string")
        return
    reader = relation.to_arrow_reader(rows)
    empty = True
    for batch in reader:
        if batch.num_rows:
            empty = False
            yield batch.to_pandas(types_mapper=_as_text).astype("string")
    if empty:
        yield reader.schema.empty_table().to_pandas(types_mapper=_as_text).astype("string")


def _value(column: RawColumn) -> str:
    """The column's value as the gate judges it: trimmed, empty as null, and in an identifier
    column a null marker (`NULL`, `\\N`, ...: `lawn.contract.null_markers`) as null, as staging
    reads it (macro null_marker_as_missing): a CRM account_id `NULL` is an empty key."""
    value = f"nullif(trim({column.name}), '')"
    if column.kind != "identifier":
        return value
    markers = ", ".join("'" + marker.replace("'", "''") + "'" for marker in sorted(null_markers(column.name)))
    return f"case when lower(trim({column.name})) in ({markers}) then null else {value} end"


def check_landed(
    table: RawTable, path: Path, connection: duckdb.DuckDBPyConnection, relation: str
) -> list[str]:
    """Great Expectations on the rows the loader landed in ``relation``; error lines.

    A table with a unique column is validated as one frame. Any other is validated in batches
    of CHUNK_VECTORS DuckDB vectors (1M rows) in landing order, and each expectation is decided
    on the whole file: the counts of bad values of every batch are added up before ``mostly``
    is applied, and the error line names the whole file's count and its first bad row, as one
    frame would."""
    checked = [c for c in table.columns if c.parse_share is not None or c.not_null or c.unique]
    columns = ", ".join(f"{_value(column)} as {column.name}" for column in checked) or "1 as one"
    landed = connection.sql(f"select {columns} from {relation}")
    validate = _validator(table)
    suite = _suite(table, has_rows_required=table.required)
    if any(c.unique for c in table.columns):
        frame = next(_text_frames(landed, rows=None))
        outcome = validate(frame, suite)
        failures = [r for r in outcome.results if not r.success]
        if failures:
            return [_describe(path, frame, failures[0], table=table)]
        return row_rule_errors(table, path, connection, relation)
    counts: dict[int, list[int]] = {}  # expectation -> [bad values, values judged] over the file
    first_bad: dict[int, tuple[pd.DataFrame, object, int]] = {}  # expectation -> its first bad batch
    offset = 0
    for frame in _text_frames(landed, rows=CHUNK_VECTORS * 2048):
        outcome = validate(frame, suite)
        for number, item in enumerate(outcome.results):
            if item.expectation_config.type == "expect_table_row_count_to_be_between":
                if not item.success:  # only an empty file fails it: its one batch is empty
                    return [_describe(path, frame, item, table=table)]
                continue
            bad = int(item.result.get("unexpected_count") or 0)
            judged = int(item.result.get("element_count") or 0) - int(item.result.get("missing_count") or 0)
            if item.expectation_config.type == "expect_column_values_to_not_be_null":
                judged = int(item.result.get("element_count") or 0)
            total = counts.setdefault(number, [0, 0])
            total[0] += bad
            total[1] += judged
            if bad and number not in first_bad:
                first_bad[number] = (frame, item, offset)
        offset += len(frame)
    for number, (bad, judged) in sorted(counts.items()):
        item_frame, item, item_offset = first_bad.get(number, (None, None, 0))
        if item is None:
            continue
        mostly = item.expectation_config.kwargs.get("mostly") or 1.0
        if judged and (judged - bad) / judged >= mostly:
            continue
        return [_describe(path, item_frame, item, offset=item_offset, bad_total=bad, table=table)]
    return row_rule_errors(table, path, connection, relation)


def _import_great_expectations() -> None:
    # a failed import is not reported here: the check's own import raises it in the caller
    with suppress(Exception):
        import great_expectations  # noqa: F401


def land_and_check(
    raw_dir: Path, connection: duckdb.DuckDBPyConnection, notes: Callable[[str], None] | None = None
) -> LoadReport:
    """Land ``raw_dir`` into ``raw.*`` of ``connection`` if every file passes the gate; files
    landed before are not landed nor checked again (lawn/raw_deliveries.py `plan_table`).

    Great Expectations is imported on a thread meanwhile, started when the first table with
    files to read is reached (a load with nothing new checks nothing, and waited 4 s for the
    import): its import takes 4-5 s (this machine), and before the first check the loader
    reads the file, work that releases the GIL. The checks import it as before: Python's
    import lock makes them wait for the thread's import, and an import that failed there
    fails again in the check, with its own error. The thread is joined before this returns."""
    from lawn.plan_check import check_plan
    from lawn.seed_check import check_seeds

    # the tracking plan and the other seeds people edit by hand, before any file is read
    # (lawn/plan_check.py, lawn/seed_check.py)
    if problem := check_plan() or check_seeds():
        return LoadReport(errors=[problem])
    importing: list[threading.Thread] = []

    def start_importing() -> None:
        if not importing and "great_expectations" not in sys.modules:
            importing.append(threading.Thread(target=_import_great_expectations, name="lawn-gx-import"))
            importing[0].start()

    try:
        return land_raw_dir(
            raw_dir, connection, check=check_landed, notes=notes, before_reading=start_importing
        )
    finally:
        for thread in importing:
            thread.join()


def validate_raw_dir(raw_dir: Path, warn: Callable[[str], None] | None = None) -> list[str]:
    """Run the gate without touching any warehouse; one error line per broken file; ``warn``
    receives the load's warning lines (a file read as Windows-1252, the columns ignored). The
    rows are landed in a scratch database that spills to a temporary folder beyond
    GATE_MEMORY_LIMIT (a 10M-row file held in memory took 4 GB of the gate's 5 GB peak; with
    the limit 1.9 GB)."""
    with tempfile.TemporaryDirectory(prefix="lawn-gate-") as spill:
        config = {"memory_limit": GATE_MEMORY_LIMIT, "temp_directory": spill}
        with duckdb.connect(config=config) as connection:
            report = land_and_check(raw_dir, connection)
    for landed in report.tables:
        lines = list(landed.warnings)
        if landed.ignored_columns:  # as `lawn load` lists them (the contract: "ignored and listed")
            lines.append(f"raw.{landed.table.name}: ignored columns: {', '.join(landed.ignored_columns)}")
        for line in lines if warn is not None else ():
            warn(line)
    return report.errors


def load_raw(raw_dir: Path, db_path: Path, notes: Callable[[str], None] | None = None) -> LoadReport:
    """Gate and land ``raw_dir`` into the warehouse at ``db_path`` (all tables or none)."""
    existed = db_path.exists()
    if not db_path.parent.is_dir():
        return LoadReport(errors=[f"{db_path}: the folder of the warehouse does not exist"])
    try:
        with duckdb.connect(str(db_path)) as connection:
            connection.execute(f"set memory_limit = '{GATE_MEMORY_LIMIT}'")  # this process's landing only
            report = land_and_check(raw_dir, connection, notes)
    except duckdb.Error as exc:
        # locked by another process, read-only, not a DuckDB file: one line, nothing landed
        return LoadReport(errors=[f"{db_path}: cannot write the warehouse ({str(exc).splitlines()[0]})"])
    if report.errors and not existed:
        # nothing was landed: leave no empty warehouse behind either
        for leftover in (db_path, db_path.with_name(db_path.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return report
