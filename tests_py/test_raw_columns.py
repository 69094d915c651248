"""Raw files whose columns a spreadsheet or a dataframe library wrote in ways the contract must
name: naive typed timestamps and typed dates (read as UTC, unlike text without an offset),
a header's empty trailing column, two Parquet columns differing in letter case, a binary
Parquet id, and the line of a bad row after a quoted cell holding line breaks. Hand-written
rows; one line per problem, naming file and line, row or column, never a traceback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lawn.cli import app
from tests_py.conftest import query

runner = CliRunner()

HEADER = "event_id,event_name,schema_version,source,occurred_at,received_at,anonymous_id,properties"
PAGE = '{"page_path":"/"}'


def _load(raw: Path):
    db = raw.parent / "warehouse.duckdb"
    return runner.invoke(app, ["load", "--raw-dir", str(raw)], env={"LAWN_DUCKDB_PATH": str(db)}), db


def _validate(raw: Path):
    return runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])


def _errors(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def _events_parquet(raw: Path, occurred: pa.Array, received: pa.Array, **extra: pa.Array) -> Path:
    raw.mkdir(exist_ok=True)
    rows = len(occurred)
    columns = {
        "event_id": pa.array([f"e{n}" for n in range(rows)]),
        "event_name": pa.array(["page_viewed"] * rows),
        "schema_version": pa.array([1] * rows, pa.int64()),
        "source": pa.array(["web"] * rows),
        "occurred_at": occurred,
        "received_at": received,
        "anonymous_id": pa.array(["a1"] * rows),
        "properties": pa.array([PAGE] * rows),
        **extra,
    }
    path = raw / "raw_events.parquet"
    pq.write_table(pa.table(columns), path)
    return path


UTC = dt.UTC
AT = [dt.datetime(2026, 12, 3, 10, 4, 1), dt.datetime(2026, 12, 3, 10, 5, 2, 250000)]


def test_a_naive_timestamp_lands_as_utc_like_an_instant(tmp_path):
    """A Parquet TIMESTAMP without a zone (pandas' datetime64, a warehouse's TIMESTAMP_NTZ
    export) is read as UTC, the convention of systems that write typed files: it lands as the
    same `Z` text as a TIMESTAMPTZ holding that instant, in nanosecond and microsecond units."""
    raw = tmp_path / "raw"
    occurred = pa.array([t.replace(tzinfo=UTC) for t in AT], pa.timestamp("us", tz="UTC"))
    _events_parquet(raw, occurred, pa.array(AT, pa.timestamp("ns")))
    result, db = _load(raw)
    assert result.exit_code == 0, result.output
    landed = query(db, "select occurred_at, received_at from raw.raw_events order by event_id")
    expected = [f"{t:%Y-%m-%dT%H:%M:%S.%f}Z" for t in AT]
    assert landed["occurred_at"].tolist() == expected and landed["received_at"].tolist() == expected


def test_a_naive_typed_occurred_at_passes_while_the_same_csv_text_is_refused(tmp_path):
    """`occurred_at` written as text needs an offset (a client's local clock could be in any
    zone): a CSV column without one is refused. The same values typed as a zoneless Parquet
    TIMESTAMP were written by a system and are read as UTC, so the gate passes them."""
    naive, text = tmp_path / "naive", tmp_path / "text"
    received = pa.array([t.replace(tzinfo=UTC) for t in AT], pa.timestamp("us", tz="UTC"))
    _events_parquet(naive, pa.array(AT, pa.timestamp("ns")), received)
    text.mkdir()
    cells = 'a1,"{""page_path"":""/""}"'
    rows = "".join(f"e{n},page_viewed,1,web,{t:%Y-%m-%dT%H:%M:%S},{t:%Y-%m-%dT%H:%M:%SZ},{cells}\n"
                   for n, t in enumerate(AT))  # fmt: skip
    (text / "raw_events.csv").write_text(HEADER + "\n" + rows)
    assert _validate(naive).exit_code == 0
    result = _validate(text)
    assert result.exit_code == 2, result.output
    [line] = _errors(result)
    assert "column 'occurred_at' has 2 value(s) that are not an ISO 8601 timestamp with an offset" in line


def test_times_to_the_minute_with_an_offset_pass_the_gate(tmp_path):
    """ISO 8601's reduced precision: `2026-12-01T09:59Z` and `10:59+01:00` (a probe, 2026-12-07:
    refused as "not an ISO 8601 timestamp with an offset", while `10:00` without an offset
    passed); staging reads them on every engine (test_portable_macros.py). A lower-case `z`
    is still no offset."""
    minutes, lower = tmp_path / "minutes", tmp_path / "lower"
    cells = 'a1,"{""page_path"":""/""}"'
    for folder, zone in ((minutes, "Z"), (lower, "z")):
        folder.mkdir()
        rows = "".join(f"e{n},page_viewed,1,web,{t:%Y-%m-%dT%H:%M}{zone},{t:%Y-%m-%dT%H:%M}+01:00,{cells}\n"
                       for n, t in enumerate(AT))  # fmt: skip
        (folder / "raw_events.csv").write_text(HEADER + "\n" + rows)
    assert _validate(minutes).exit_code == 0, _validate(minutes).output
    result = _validate(lower)
    assert result.exit_code == 2, result.output
    [line] = _errors(result)
    assert "column 'occurred_at' has 2 value(s) that are not an ISO 8601 timestamp with an offset" in line


def test_a_typed_date_in_a_timestamp_column_lands_as_its_midnight_utc(tmp_path):
    """A DATE in received_at lands as its midnight with `Z`, as staging reads `2026-12-03` in
    a CSV file."""
    raw = tmp_path / "raw"
    occurred = pa.array([t.replace(tzinfo=UTC) for t in AT], pa.timestamp("ms", tz="UTC"))
    _events_parquet(raw, occurred, pa.array([t.date() for t in AT], pa.date32()))
    result, db = _load(raw)
    assert result.exit_code == 0, result.output
    landed = query(db, "select distinct received_at from raw.raw_events")
    assert landed["received_at"].tolist() == ["2026-12-03T00:00:00.000000Z"]


@pytest.mark.parametrize(
    ("header_end", "row_end", "expected"),
    [
        (",", ",", "line 1: column 9 of 9 has no name"),
        (",,", ",,", "line 1: columns 9, 10 of 10 have no name"),
        (",", "", "line 1: column 9 of 9 has no name"),
    ],
    ids=["one-trailing-comma", "two-trailing-commas", "header-only"],
)
def test_a_header_with_an_empty_column_name_is_one_line_naming_its_position(
    tmp_path, header_end, row_end, expected
):
    """A spreadsheet's empty trailing column leaked DuckDB's SQL (`LINE 1: ...('/tmp/...csv',
    columns={...`); two of them said `header repeats a column name ()`."""
    raw = tmp_path / "raw"
    raw.mkdir()
    row = 'e1,page_viewed,1,web,2026-12-01T10:00:00Z,2026-12-01T10:00:01Z,a1,"{""page_path"":""/""}"'
    (raw / "raw_events.csv").write_text(f"{HEADER}{header_end}\n{row}{row_end}\n")
    result = _validate(raw)
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = _errors(result)
    assert f"raw_events.csv: {expected}" in line and "trailing comma" in line
    assert "LINE 1" not in result.output and "columns={" not in result.output


def test_parquet_columns_differing_only_in_letter_case_are_refused(tmp_path):
    """`USER_ID` and `user_id` in one Parquet file passed (DuckDB read the second as
    `user_id_1`, ignored): refused as a CSV header or a JSON Lines object repeating a name."""
    raw = tmp_path / "raw"
    occurred = pa.array([t.replace(tzinfo=UTC) for t in AT], pa.timestamp("us", tz="UTC"))
    _events_parquet(
        raw, occurred, occurred, USER_ID=pa.array(["U-1", "U-2"]), user_id=pa.array([None, None], pa.int32())
    )
    result = _validate(raw)
    assert result.exit_code == 2, result.output
    [line] = _errors(result)
    assert line.endswith("raw_events.parquet: Parquet schema repeats a column name (USER_ID, user_id)")
    result, db = _load(raw)
    assert result.exit_code == 2 and "user_id_1" not in result.output and not db.exists()


def test_a_binary_id_that_is_not_utf8_names_the_column_and_row(tmp_path):
    """DuckDB's decode error gave its advice (`Use try(decode(BLOB))...`), no column, no row."""
    raw = tmp_path / "raw"
    occurred = pa.array([t.replace(tzinfo=UTC) for t in AT], pa.timestamp("us", tz="UTC"))
    _events_parquet(raw, occurred, occurred, user_id=pa.array([b"u-1", b"\xff\xfe"], pa.binary()))
    result = _validate(raw)
    assert result.exit_code == 2, result.output
    [line] = _errors(result)
    assert "raw_events.parquet: column 'user_id' is binary (BLOB) and not UTF-8 text" in line
    assert "first at data row 2" in line
    assert "try(decode" not in result.output


def test_a_binary_id_that_is_utf8_lands_as_its_text(tmp_path):
    raw = tmp_path / "raw"
    occurred = pa.array([t.replace(tzinfo=UTC) for t in AT], pa.timestamp("us", tz="UTC"))
    _events_parquet(raw, occurred, occurred, user_id=pa.array([b"u-1", "Zo\u00eb".encode()], pa.binary()))
    result, db = _load(raw)
    assert result.exit_code == 0, result.output
    landed = query(db, "select user_id from raw.raw_events order by event_id")
    assert landed["user_id"].tolist() == ["u-1", "Zoë"]


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_a_bad_row_after_a_multiline_cell_is_named_by_its_physical_line(tmp_path, newline):
    """DuckDB counts records: after a quoted cell spanning three lines the bad row on line 6
    was called `line 4`."""
    raw = tmp_path / "raw"
    raw.mkdir()
    clocks = "2026-12-01T10:00:00Z,2026-12-01T10:00:01Z"
    good = f'e1,page_viewed,1,web,{clocks},a1,"{{""page_path"":""/""}}"'
    multiline = f'e2,page_viewed,1,web,{clocks},a1,"{{\n  ""page_path"": ""/""\n}}"'
    bad = f'e3,page_viewed,1,web,{clocks},a1,"{{}}",extra'
    text = "\n".join([HEADER, good, multiline, bad]) + "\n"
    (raw / "raw_events.csv").write_bytes(text.replace("\n", newline).encode())
    result = _validate(raw)
    assert result.exit_code == 2, result.output
    [line] = _errors(result)
    assert "raw_events.csv: line 6: Expected Number of Columns: 8 Found: 9" in line


@pytest.mark.parametrize("form", ["jsonl", "parquet"])
def test_a_nul_character_in_a_value_is_refused_naming_the_column_and_row(tmp_path, form):
    """A probe (2026-12-07): a JSON Lines id `"u1\\u0000"` passed the gate; DuckDB landed it
    as a user apart from `u1`, and PostgreSQL's landing failed ("invalid byte sequence for
    encoding UTF8: 0x00"). No warehouse text holds a NUL, so the gate refuses the file on
    every engine, in one line, before anything lands."""
    raw = tmp_path / "raw"
    raw.mkdir()
    at = "2026-11-11T09:11:00Z"
    ids = ["u1", "u1\x00"]
    if form == "jsonl":
        import json

        rows = [
            {"event_id": f"e{n}", "event_name": "page_viewed", "schema_version": 1, "source": "web",
             "occurred_at": at, "received_at": at, "user_id": user, "properties": {"page_path": "/"}}
            for n, user in enumerate(ids)
        ]  # fmt: skip
        (raw / "raw_events.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    else:
        moment = pa.array([dt.datetime(2026, 11, 11, 9, 11, tzinfo=UTC)] * 2, pa.timestamp("us", tz="UTC"))
        _events_parquet(raw, moment, moment, user_id=pa.array(ids))
    result, db = _load(raw)
    assert result.exit_code == 2, result.output
    [line] = _errors(result)
    assert f"raw_events.{form}: column 'user_id' has 1 value(s) holding a NUL character" in line
    assert line.endswith("first at data row 2"), line
    assert "Traceback" not in result.output
    assert not db.exists() or query(db, "select count(*) as n from information_schema.tables "
                                        "where table_schema = 'raw'")["n"].iloc[0] == 0  # fmt: skip


@pytest.mark.parametrize("name", ["day2.jsonl", "day2.ndjson.gz"])
def test_an_empty_json_lines_delivery_is_named_empty(tmp_path, name):
    """A probe (2026-12-07): a zero-byte JSON Lines delivery was refused as "missing columns
    'event_id', ... (found: none)"; a header-only CSV is "file is empty"."""
    import gzip

    folder = tmp_path / "raw" / "raw_events"
    folder.mkdir(parents=True)
    row = 'e1,page_viewed,1,web,2026-11-11T09:11:00Z,2026-11-11T09:11:00Z,a1,"{}"'
    (folder / "day1.csv").write_text(f"{HEADER}\n{row}\n")
    empty = b"" if name.endswith(".jsonl") else gzip.compress(b"\n")
    (folder / name).write_bytes(empty)
    result = _validate(tmp_path / "raw")
    assert result.exit_code == 2, result.output
    [line] = _errors(result)
    assert line.endswith(f"{name}: file is empty (no rows)"), line


def test_half_an_emoji_in_a_json_lines_value_names_its_own_line(tmp_path):
    """A probe (2026-12-07): DuckDB refuses a JSON Lines value holding a lone surrogate
    (`"u1\\ud83d"`: a client cut a string inside an emoji) and named the line after it; in a
    two-line file, line 3."""
    import json

    raw = tmp_path / "raw"
    raw.mkdir()
    at = "2026-11-11T09:11:00Z"
    good = {"event_id": "e1", "event_name": "logged_in", "schema_version": 1, "source": "web",
            "occurred_at": at, "received_at": at, "user_id": "u1", "properties": {}}  # fmt: skip
    lines = [json.dumps(good), json.dumps({**good, "event_id": "e2"}).replace('"u1"', '"u1\\ud83d"')]
    (raw / "raw_events.jsonl").write_text("\n".join(lines) + "\n")
    result = _validate(raw)
    assert result.exit_code == 2, result.output
    [line] = _errors(result)
    assert "raw_events.jsonl: line 2: " in line and "surrogate" in line, line
    assert "line 3" not in line, line


def test_a_csv_mixing_line_ends_says_so(tmp_path):
    """A probe (2026-12-07): a CSV saved on Windows (CRLF) with one row appended by hand (LF)
    was refused as "Value with unterminated quote found" alone; the line now says the file
    mixes line ends and which line ends in LF only."""
    raw = tmp_path / "raw"
    raw.mkdir()
    at = "2026-11-11T09:1{n}:00Z"
    rows = [
        f'e{n},page_viewed,1,web,{at.format(n=n)},{at.format(n=n)},a1,"{{""page_path"":""/""}}"'
        for n in range(1, 4)
    ]
    text = "\r\n".join([HEADER, *rows[:2]]) + "\r\n" + rows[2] + "\n"
    (raw / "raw_events.csv").write_bytes(text.encode())
    result = _validate(raw)
    assert result.exit_code == 2, result.output
    [line] = _errors(result)
    assert "mixes Windows (CRLF) and Unix (LF) line ends: line 4 ends in LF only" in line, line
