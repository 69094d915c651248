"""The raw reader's error path: what a file DuckDB could not read, or a JSON Lines file with
a line that is not one object, gets as its one-line error (file, line, reason; never the row's
contents). Split from lawn/raw_reader.py, which reads; these run only once a read failed."""

from __future__ import annotations

import csv
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import duckdb

from lawn.raw_reader import MAX_LINE_BYTES, _open_text, file_format, gzip_problem, read_problem


def duckdb_problem(path: Path, exc: Exception, source: Path | None = None) -> str:
    """One line from a DuckDB read error, with the line number and never the row's contents;
    running out of memory says so, never as a problem of the file's content; a gzipped file
    whose compressed stream is broken says that (`gzip_problem`), not what DuckDB made of it.
    ``source``: the UTF-8 copy DuckDB read instead of ``path`` (its lines are the file's)."""
    text = str(exc) if source is None else str(exc).replace(str(source), str(path))
    # DuckDB ends a binder's message with the query and a caret under it ("LINE 1: describe
    # ..."): never the file's line, nor a reason (it was shown as both for a broken Parquet file)
    text = re.split(r"\n+LINE \d+: ", text)[0]
    if isinstance(exc, duckdb.OutOfMemoryException):
        what = text.splitlines()[0].removeprefix("Out of Memory Error: ")
        return (
            f"{path}: DuckDB ran out of memory reading this file ({what}); "
            "not a problem of the file's content: give lawn more memory or split the file"
        )
    if problem := gzip_problem(path):
        return problem
    line = re.search(r"[Ll]ine:? (\d+)", text)
    # the reason is the last line before DuckDB's "Possible fixes": the row's text comes before
    # it, after "Original Line:" or, in a file with CRLF line ends, on a line of its own
    parts = text.split("\n")
    end = next((i for i, part in enumerate(parts) if part.startswith("Possible")), None)
    if end is not None:
        reasons = [part.strip() for part in parts[1:end] if part.strip()][-1:]
        reasons = [reason for reason in reasons if not reason.startswith("Original Line")]
    else:
        reasons = [
            part.strip()
            for part in text.splitlines()[1:8]
            if part.strip() and not part.startswith("Original Line") and not part.startswith("Possible")
        ]
    reason = reasons[0] if reasons else text.splitlines()[0]
    reason = reason.split(". Possible")[0].rstrip(".").replace(f": {path}", "")
    if file_format(path) == "parquet" and ("magic bytes" in reason or "Footer" in reason):
        # "No magic bytes found at end of file", "Footer length error": a truncated copy, or a
        # CSV or JSON file named .parquet
        reason = re.sub(r"^[A-Za-z ]*Error: ", "", reason).replace(f" in file '{path}'", "")
        reason = reason.replace(f" '{path}'", "")
        hint = "a truncated copy, or another format named .parquet?"
        return f"{path}: not a readable Parquet file ({reason}): {hint}"
    if not line and file_format(path) == "csv" and (other := first_other_line_end(source or path)):
        # DuckDB's "not RFC 4180 compliant" named no line for a CRM or spend export with rows
        # appended in an editor (a probe, 2026-12-07)
        number, first, then = other
        return (
            f"{path}: line {number}: the file mixes Windows (CRLF) and Unix (LF) line ends (line 1 "
            f"ends in {first}, line {number} in {then}): save the file with one kind of line end"
        )
    where = ""
    if line:
        number = int(line.group(1))
        where = f"line {number}: "
        if file_format(path) == "csv":  # DuckDB counts records: a quoted cell may span lines
            start = record_start_line(source or path, number)
            where = f"line {start}: " if start else f"record {number} (the header is record 1): "
            if "unterminated quote" in reason and (mixed := first_lf_only_line(source or path)):
                # DuckDB reads the line ends the file starts with: a row appended by hand
                # with the other kind runs into the next (a probe, 2026-12-07)
                reason += (
                    f" (the file mixes Windows (CRLF) and Unix (LF) line ends: line {mixed} ends "
                    "in LF only; if that line is a row, not part of a quoted cell, save the file "
                    "with one kind of line end)"
                )
        elif file_format(path) == "jsonl" and "surrogate" in reason:
            # DuckDB named the line after the one holding half an emoji (a probe, 2026-12-07)
            found = lone_surrogate_line(source or path)
            where = f"line {found}: " if found else where
            reason = re.sub(r' in file "[^"]*"|,? at byte \d+ in line \d+', "", reason)
    return f"{path}: {where}{reason}"


def _line_ends(path: Path) -> Iterator[tuple[int, str]]:
    """(line, "CRLF" or "LF") of each line of a text file that has an end (the last line may
    not); nothing more when the file cannot be read. Error path only."""
    try:
        with _open_text(path) as handle:
            for number, text in enumerate(handle, start=1):
                if not text.endswith("\n"):
                    return
                yield number, "CRLF" if text.endswith("\r\n") else "LF"
    except (UnicodeDecodeError, OSError, EOFError, zlib.error):
        return


def first_lf_only_line(path: Path) -> int | None:
    """The first line ending in LF alone of a text file whose lines also end in CRLF (a file
    mixing Windows and Unix line ends); None when the file uses one kind or cannot be read."""
    seen: dict[str, int] = {}
    for number, end in _line_ends(path):
        seen.setdefault(end, number)
        if len(seen) == 2:
            return seen["LF"]
    return None


def first_other_line_end(path: Path) -> tuple[int, str, str] | None:
    """(line, first line's end, its end) of the first line ending otherwise than line 1 (CRLF
    against LF alone); None when every line ends alike or the file cannot be read."""
    first = None
    for number, end in _line_ends(path):
        first = first or end
        if end != first:
            return number, first, end
    return None


def lone_surrogate_line(path: Path) -> int | None:
    """The first line of a JSON Lines file whose strings hold a surrogate escape outside a
    high-low pair (a string cut inside an emoji), as Python decodes it. Error path only;
    None if no line does or the file cannot be read."""
    try:
        with _open_text(path) as handle:
            for number, text in enumerate(handle, start=1):
                try:
                    decoded = json.loads(text)
                except ValueError:
                    continue
                if _holds_lone_surrogate(decoded):
                    return number
    except (UnicodeDecodeError, OSError, EOFError, zlib.error):
        return None
    return None


def _holds_lone_surrogate(value: object) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return any(_holds_lone_surrogate(k) or _holds_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_lone_surrogate(item) for item in value)
    return False


def record_start_line(path: Path, record: int) -> int | None:
    """The physical line CSV record ``record`` starts on (1 is the header; a blank line is a
    record, as DuckDB counts them): DuckDB's "Line" in a CSV error is the record's number,
    and a quoted cell holding line breaks puts later records further down. Error path
    only; None if the file cannot be read that far."""
    limit = csv.field_size_limit(MAX_LINE_BYTES)  # a cell DuckDB lands may be that long
    try:
        with _open_text(path) as handle:
            reader = csv.reader(handle)
            for _ in range(record - 1):
                next(reader)
            return reader.line_num + 1
    except (StopIteration, csv.Error, UnicodeDecodeError, OSError, EOFError, zlib.error):
        return None
    finally:
        csv.field_size_limit(limit)


def first_bad_json_line(path: Path, source: Path | None = None) -> str:
    """The first line of a JSON Lines file that is not one JSON object, as one error line
    ("" if every line is one): a file holding one JSON array (`[{...}, {...}]`, on one line or
    pretty-printed) is named as such. ``source``: its UTF-8 copy, if it has one."""
    not_object = "not a JSON object (JSON Lines needs one object per line)"
    first = True
    try:
        with _open_text(source or path) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except ValueError:
                    value = None
                if isinstance(value, dict):
                    first = False
                    continue
                if problem := gzip_problem(path):  # what a corrupt stream inflated to
                    return problem
                if first and line.lstrip().startswith("["):
                    return (
                        f"{path}: holds a JSON array, not one JSON object per line "
                        "(JSON Lines: each object on a line of its own, no enclosing [ ])"
                    )
                return f"{path}: line {number}: {not_object}"
    except UnicodeDecodeError:
        return f"{path}: not UTF-8 text"
    except (OSError, EOFError, zlib.error) as exc:  # not gzipped, a truncated or corrupt stream
        return read_problem(path, exc)
    return ""
