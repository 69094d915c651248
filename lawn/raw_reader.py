"""Read one raw file as a contract table's text columns: the loader's reading half.

A table's file is CSV, Parquet or JSON Lines, optionally gzipped (`file_format`), read with
DuckDB, columns matched by name (`select_for`). Every column comes out as text in a canonical
form (a typed timestamp as ISO 8601 UTC text with `Z`, a zoneless one read as UTC; nested
JSON as JSON text), so staging sees the same thing whatever the file carried. A file that
cannot be read is a `RawFileError` whose message is one line naming the file (and line) and
the problem, never the row's contents.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import duckdb

from lawn.contract import FILE_FORMATS, RawColumn, RawTable
from lawn.raw_columns import bad_blob_column, name_problem, parquet_names
from lawn.raw_encoding import EncodingError, Readable, utf8_source

# a value longer than this is landed (and quarantined by staging), never a load failure
MAX_LINE_BYTES = 256 * 1024 * 1024
# the same for a gzipped file: DuckDB reads it through buffers it allocates whole (16 times the
# line size for CSV by default: 4 GiB, refused under the gate's 1 GB memory limit), so a
# compressed file gets a smaller line size and a buffer of that size (tests_py/test_raw_compressed.py)
MAX_COMPRESSED_LINE_BYTES = 64 * 1024 * 1024
ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class RawFileError(Exception):
    """A raw file that must not be loaded; the message is one line naming file and problem."""


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def find_table_file(raw_dir: Path, table: RawTable) -> Path | None:
    """The file holding ``table`` in ``raw_dir``; two candidate files are an error."""
    found = [path for ext in FILE_FORMATS if (path := raw_dir / f"{table.name}{ext}").exists()]
    if len(found) > 1:
        names = ", ".join(path.name for path in found)
        raise RawFileError(f"{found[0]}: more than one file for table {table.name}: {names}")
    return found[0] if found else None


def file_format(path: Path) -> str:
    name = path.name
    for ext, kind in FILE_FORMATS.items():
        if name.endswith(ext):
            return kind
    raise RawFileError(f"{path}: unknown file type (expected one of {', '.join(FILE_FORMATS)})")


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


# what Python's gzip raises on a broken stream: a bad header, a bad CRC or length (BadGzipFile),
# the data ending early (EOFError), deflate data that does not inflate (zlib.error)
_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def read_problem(path: Path, exc: BaseException) -> str:
    """One line for an error reading ``path`` through Python (plain or gzipped)."""
    text = (str(exc).splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, _GZIP_ERRORS) and not text.startswith("Not a gzipped file"):
        detail = "the compressed data ends early" if isinstance(exc, EOFError) else text
        return f"{path}: truncated or corrupt gzip file ({detail})"
    return f"{path}: cannot be read ({text})"


def gzip_problem(path: Path) -> str:
    """For a gzipped file, one line if its compressed stream is broken (truncated, corrupt: a
    CRC or length that does not match), else "". DuckDB neither names such a file nor checks
    the CRC, so a read error of a .gz file is checked here (the whole file is decompressed:
    only on an error path)."""
    if not path.name.endswith(".gz"):
        return ""
    try:
        with gzip.open(path, "rb") as handle:
            while handle.read(1 << 20):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        return read_problem(path, exc)
    return ""


@contextmanager
def readable_source(path: Path) -> Iterator[Readable]:
    """What DuckDB reads for ``path``: a CSV or JSON Lines file that is not UTF-8 (Windows-1252,
    UTF-16 with its byte order mark) as a temporary UTF-8 copy, deleted when the block ends
    (`lawn.raw_encoding`); a UTF-8 or Parquet file as it is. An encoding lawn does not read is
    a `RawFileError`."""
    kind = file_format(path)
    if kind == "parquet":
        yield Readable(path, "utf-8")
        return
    stack = ExitStack()
    try:
        readable = stack.enter_context(utf8_source(path, f".{kind}"))
    except EncodingError as exc:
        raise RawFileError(str(exc)) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise RawFileError(read_problem(path, exc)) from None
    with stack:
        yield readable


def _csv_header(path: Path, source: Path) -> list[str]:
    """The header of CSV file ``path``, read from ``source`` (UTF-8: the file or its copy)."""
    try:
        with _open_text(source) as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise RawFileError(f"{path}: line 1: not UTF-8 text") from None
    except csv.Error as exc:
        raise RawFileError(f"{path}: cannot be read ({exc})".splitlines()[0]) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise RawFileError(read_problem(path, exc)) from None
    if not header:
        raise RawFileError(f"{path}: file is empty (not even a header row)")
    return [name.strip() for name in header]


def has_non_object_line(connection: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Whether a JSON Lines file holds a line that is not a JSON object (an array, a number):
    DuckDB's scan, so that `first_bad_json_line` (Python, line by line) runs only when there
    is one to name. A file DuckDB cannot read counts as having one (Python names it)."""
    reader = _reader_sql(path, "jsonl", None)
    try:
        found = connection.execute(
            f"select count(*) from {reader} where json_type(json) <> 'OBJECT'"
        ).fetchone()
    except duckdb.Error:
        return True
    return bool(found and found[0])


# the largest whole double written as integer text (HUGEINT holds up to 1.7e38)
INTEGER_TEXT_LIMIT = 1e38


def integral_number_text(number: str, otherwise: str) -> str:
    """SQL: ``number`` (a DOUBLE expression) as integer text when it is a finite whole number
    (``42.0`` -> ``42``, ``1e16`` -> ``10000000000000000``), else ``otherwise``. An id typed
    as a floating-point number (a pandas column with a missing value is float64; a JSON
    ``42.0``) is the id ``42``: the same person as the ``42`` another file sends as text or as
    an integer. Beyond 2^53 a double may have rounded the id already, but its text is still the
    integer it holds, whatever the file's format (`1e16` was `1e+16` from JSON Lines and
    `10000000000000000.0` from Parquet: three persons for one id, a probe, 2026-12-07). NaN and
    infinities are `otherwise` (`nan` is a null marker), never a cast error."""
    return (
        f"case when isfinite({number}) and {number} = trunc({number}) "
        f"and abs({number}) < {INTEGER_TEXT_LIMIT} "
        f"then cast(try_cast({number} as hugeint) as varchar) else {otherwise} end"
    )


def integral_decimal_text(source: str) -> str:
    """SQL: a DECIMAL id as text, a whole one as its integer (``decimal(38, 9)``
    ``9007199254740993.000000000`` -> ``9007199254740993``, exactly: not through a double)."""
    return (
        f"case when {source} = trunc({source}) then cast(try_cast({source} as hugeint) as varchar) "
        f"else cast({source} as varchar) end"
    )


def _text_expression(column: RawColumn, source: str, source_type: str) -> str:
    """SQL turning ``source`` (of DuckDB type ``source_type``) into the column's canonical text.
    A typed timestamp is UTC text with `Z`: one with a zone is an instant (the connection's
    time zone is UTC); one without (Parquet's TIMESTAMP with isAdjustedToUTC false, a pandas
    datetime64 column without tz, a warehouse's TIMESTAMP_NTZ export) is read as UTC, the
    convention of the systems that write typed files, and a DATE as its midnight UTC. Text
    is different: a client's local clock written without an offset could be anywhere, so
    staging quarantines such an `occurred_at` (docs/bring_your_own_data.md)."""
    upper = source_type.upper()
    if column.kind == "identifier" and upper.startswith("DECIMAL"):
        return integral_decimal_text(source)
    if column.kind == "identifier" and upper.startswith(("DOUBLE", "FLOAT", "REAL")):
        return integral_number_text(f"cast({source} as double)", f"cast({source} as varchar)")
    if upper.startswith("TIMESTAMP") or upper == "DATETIME":
        if column.kind == "date":
            # a typed midnight is its day (UTC midnight for one with a zone); any other time
            # stays a time, which the gate refuses as no date: a zoned local midnight
            # (Europe/Berlin's is 23:00 UTC the day before) was landed as the day before, and
            # 10:30 was cut off without a word (a probe, 2026-12-07)
            midnight = f"cast(cast({source} as timestamp) as time) = time '00:00:00'"
            day = f"strftime(cast({source} as date), '%Y-%m-%d')"
            return f"case when {midnight} then {day} else strftime({source}, '{ISO_FORMAT}') end"
        return f"strftime({source}, '{ISO_FORMAT}')"
    if upper == "DATE":
        if column.kind == "timestamp":
            return f"strftime(cast({source} as timestamp), '{ISO_FORMAT}')"
        return f"strftime({source}, '%Y-%m-%d')"
    if upper.startswith(("STRUCT", "MAP")) or upper.endswith("[]") or upper == "JSON":
        return nested_json_text(f"cast(to_json({source}) as varchar)")
    if upper == "BLOB":
        return f"decode({source})"
    return f"cast({source} as varchar)"


# a NaN or an infinity DuckDB's to_json writes as a value (after `:`, `[` or `,`, before `,`,
# `}` or `]`): no JSON has them
_NON_JSON_NUMBER = r"([:,\[])(-?Infinity|NaN)([,}\]])"


def nested_json_text(json_text: str) -> str:
    """SQL: a typed nested value's JSON text with each NaN or infinity as `null`, as
    JavaScript's JSON.stringify and pandas write them (pyarrow, polars and Spark keep NaN in a
    struct; DuckDB's to_json wrote `NaN`, no JSON, and the event was quarantined as malformed:
    a probe, 2026-12-07). Only a value holding such a token outside its strings is rewritten
    (twice: neighbours share a comma); a string holding ':NaN,' beside no real NaN is kept."""
    strings_emptied = f"""regexp_replace({json_text}, '"([^"\\\\]|\\\\.)*"', '""', 'g')"""
    has_token = f"regexp_matches({strings_emptied}, '{_NON_JSON_NUMBER}')"
    once = f"regexp_replace({json_text}, '{_NON_JSON_NUMBER}', '\\1null\\3', 'g')"
    twice = f"regexp_replace({once}, '{_NON_JSON_NUMBER}', '\\1null\\3', 'g')"
    return (
        f"case when ({json_text} like '%NaN%' or {json_text} like '%Infinity%') and {has_token} "
        f"then {twice} else {json_text} end"
    )


def _reader_sql(path: Path, kind: str, header: list[str] | None) -> str:
    literal = _sql_string(str(path))
    line_bytes = MAX_COMPRESSED_LINE_BYTES if path.name.endswith(".gz") else MAX_LINE_BYTES
    if kind == "csv":
        columns = "{" + ", ".join(f"{_sql_string(name)}: 'VARCHAR'" for name in header or []) + "}"
        buffer = f", buffer_size={line_bytes}" if path.name.endswith(".gz") else ""
        return (
            f"read_csv({literal}, columns={columns}, header=true, delim=',', quote='\"', escape='\"', "
            f"auto_detect=false, strict_mode=true, null_padding=false, encoding='utf-8', "
            f"max_line_size={line_bytes}{buffer})"
        )
    if kind == "parquet":
        return f"read_parquet({literal})"
    return f"read_json_objects({literal}, format='newline_delimited', maximum_object_size={line_bytes})"


def _pointer(key: str) -> str:
    """A JSON pointer to the top-level ``key`` (any characters) as a SQL string."""
    return _sql_string("/" + key.replace("~", "~0").replace("/", "~1"))


def _line_with_two(path: Path, keys: list[str]) -> int | None:
    """The first line whose object holds two of ``keys`` (spellings of one column)."""
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            try:
                value = json.loads(line) if line.strip() else None
            except ValueError:
                continue
            if isinstance(value, dict) and sum(key in value for key in keys) > 1:
                return number
    return None


def _json_value(column: RawColumn, key: str) -> str:
    """SQL: the text of ``key`` in a JSON Lines object; an identifier sent as a JSON number
    with a fraction part of zero (``42.0``) is read as the integer (``42``)."""
    text = f"json_extract_string(json, {_pointer(key)})"
    if column.kind != "identifier":
        return text
    # a JSON integer beyond 64 bits is typed DOUBLE by DuckDB but its text is the digits as
    # written: kept as it is, never read through a double
    number = (
        f"(case when json_type(json, {_pointer(key)}) = 'DOUBLE' "
        f"and not regexp_matches({text}, '^-?[0-9]+$') then try_cast({text} as double) end)"
    )
    return f"coalesce({integral_number_text(number, 'null')}, {text})"


_NOT_AN_OBJECT = "\u2063lawn: a line that is not a JSON object"  # led by an invisible separator


def _jsonl_select(
    connection: duckdb.DuckDBPyConnection, table: RawTable, path: Path, source: Path
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """JSON Lines keys matched to the columns as CSV headers and Parquet columns are: trimmed,
    case-insensitively. One object holding a column under two spellings is refused. DuckDB
    reads ``source`` (``path`` or its UTF-8 copy)."""
    reader = _reader_sql(source, "jsonl", None)
    # a line that is not an object (a number, an array) would land as a row of nulls: the
    # same scan that lists the keys flags it with a key no object can be read under here
    flag = _sql_string(_NOT_AN_OBJECT)
    try:
        keys = [key for (key,) in connection.execute(
            f"select distinct unnest(case when json_type(json) = 'OBJECT' then json_keys(json) "
            f"else [{flag}] end) from {reader}").fetchall()]  # fmt: skip
    except duckdb.Error as exc:
        from lawn.raw_problems import duckdb_problem, first_bad_json_line  # the error path

        raise RawFileError(first_bad_json_line(path, source) or duckdb_problem(path, exc, source)) from None
    if _NOT_AN_OBJECT in keys:
        from lawn.raw_problems import first_bad_json_line

        raise RawFileError(first_bad_json_line(path, source) or f"{path}: a line is not a JSON object")
    spellings = {c.name: sorted(k for k in keys if k.strip().lower() == c.name) for c in table.columns}
    for column, found in spellings.items():
        if len(found) > 1 and (line := _line_with_two(source, found)):
            raise RawFileError(
                f"{path}: line {line}: key '{column}' appears twice, as {' and '.join(map(repr, found))}"
            )
    parts = []
    for column in table.columns:
        found = spellings[column.name]
        values = [_json_value(column, key) for key in found]
        value = values[0] if len(values) == 1 else f"coalesce({', '.join(values)})"
        parts.append(f"{value if values else 'cast(null as varchar)'} as {column.name}")
    absent = tuple(c.name for c in table.columns if not spellings[c.name])
    # keys no column reads, listed as a CSV file's extra columns are (in the order of the names)
    ignored = tuple(
        sorted((k for k in keys if k.strip().lower() not in table.column_names), key=lambda k: (k.lower(), k))
    )
    return f"select {', '.join(parts)} from {reader}", absent, ignored


def select_for(
    connection: duckdb.DuckDBPyConnection, table: RawTable, path: Path, source: Path | None = None
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The SELECT that reads ``path`` as ``table``'s text columns; absent and ignored columns.
    ``source``: what DuckDB reads instead of ``path`` (its UTF-8 copy, `readable_source`)."""
    kind = file_format(path)
    source = source or path
    if kind == "jsonl":
        return _jsonl_select(connection, table, path, source)
    header = _csv_header(path, source) if kind == "csv" else None
    # DuckDB refuses a CSV's repeated or empty name with a SQL error quoting the query, and
    # renames a Parquet file's repeated one (user_id_1): both are refused here, in one line
    names = header if header is not None else parquet_names(connection, source)
    where = "header" if header is not None else "Parquet schema"
    if names is not None and (problem := name_problem(path, names, where)):
        raise RawFileError(problem)
    reader = _reader_sql(source, kind, header)
    try:
        described = connection.execute(f"describe select * from {reader}").fetchall()
    except duckdb.Error as exc:
        from lawn.raw_problems import duckdb_problem  # the error path

        raise RawFileError(duckdb_problem(path, exc, source)) from None
    types = {name.strip().lower(): (name, dtype) for name, dtype, *_ in described}
    parts = []
    for column in table.columns:
        if column.name in types:
            name, dtype = types[column.name]
            parts.append(f"{_text_expression(column, _ident(name), dtype)} as {column.name}")
        else:
            parts.append(f"cast(null as varchar) as {column.name}")
    absent = tuple(c.name for c in table.columns if c.name not in types)
    ignored = tuple(types[k][0] for k in types if k not in table.column_names)
    return f"select {', '.join(parts)} from {reader}", absent, ignored


def blob_problem(connection: duckdb.DuckDBPyConnection, table: RawTable, path: Path) -> str:
    """For a Parquet file whose landing failed: one line naming a BLOB column that is not UTF-8
    text (DuckDB's error names neither column nor row), else ""."""
    if file_format(path) != "parquet":
        return ""
    reader = _reader_sql(path, "parquet", None)
    cursor = connection.cursor()  # the landing's transaction is aborted by the error
    try:
        described = cursor.execute(f"describe select * from {reader}").fetchall()
        blobs = {
            name.strip().lower(): name
            for name, dtype, *_ in described
            if str(dtype).upper() == "BLOB" and name.strip().lower() in table.column_names
        }
        return bad_blob_column(cursor, path, reader, blobs)
    except duckdb.Error:
        return ""
    finally:
        cursor.close()


def empty_select(table: RawTable) -> str:
    return "select " + ", ".join(f"cast(null as varchar) as {c.name}" for c in table.columns) + " where false"
