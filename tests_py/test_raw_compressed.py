"""Gzipped raw files and the header and stream problems around them: what an export job
sends (`raw_events.csv.gz`, `raw_events.jsonl.gz`) loads, and a broken one is one line
naming the file (exit 2), never a traceback nor a message about something else."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lawn.validate_raw
from lawn.cli import app
from tests_py.conftest import query

BYOD = Path(__file__).parent / "fixtures" / "byod"
runner = CliRunner()

# two events as a collector's nightly export writes them, one object per line
JSONL = (
    '{"event_id": "e-001", "event_name": "page_viewed", "schema_version": 1, "source": "web", '
    '"occurred_at": "2026-03-02T09:00:00+01:00", "received_at": "2026-03-02T08:00:01Z", '
    '"anonymous_id": "anon-ana", "context": {"platform": "web"}, "properties": {"page_path": "/pricing"}}\n'
    '{"event_id": "e-002", "event_name": "signed_up", "schema_version": 1, "source": "web", '
    '"occurred_at": "2026-03-02T09:05:00+01:00", "received_at": "2026-03-02T08:05:01Z", '
    '"anonymous_id": "anon-ana", "user_id": "u-ana", "account_id": "acme", '
    '"context": {"platform": "web"}, "properties": {"email": "ana@acme.io", "signup_method": "email"}}\n'
)


def _run(command: str, raw: Path, tmp_path: Path):
    db = tmp_path / "gate.duckdb"
    return runner.invoke(app, [command, "--raw-dir", str(raw)], env={"LAWN_DUCKDB_PATH": str(db)}), db


@pytest.fixture()
def raw(tmp_path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    return folder


def _gzipped_csv(raw: Path) -> int:
    """The hand-written feed gzipped as a nightly export is; its number of rows."""
    text = (BYOD / "raw_events.csv").read_bytes()
    (raw / "raw_events.csv.gz").write_bytes(gzip.compress(text))
    return len(text.splitlines()) - 1


@pytest.mark.parametrize("command", ["validate-raw", "load"])
@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_a_gzipped_file_is_read_like_the_plain_one(raw, tmp_path, kind, command):
    """DuckDB's buffer for a compressed CSV was 16 times the line size (4 GiB), beyond the
    gate's 1 GB memory limit: every .csv.gz and .jsonl.gz was refused with a hint on threads."""
    if kind == "csv":
        rows = _gzipped_csv(raw)
    else:
        (raw / "raw_events.jsonl.gz").write_bytes(gzip.compress(JSONL.encode()))
        rows = 2
    result, db = _run(command, raw, tmp_path)
    assert result.exit_code == 0, result.output
    if command == "load":
        assert query(db, "select count(*) as n from raw.raw_events")["n"].iloc[0] == rows


def test_running_out_of_memory_is_named_as_such(raw, tmp_path, monkeypatch):
    """Not a problem of the file: the line says memory, not a tuning hint as if it were the file's."""
    _gzipped_csv(raw)
    monkeypatch.setattr(lawn.validate_raw, "GATE_MEMORY_LIMIT", "16MB")
    result, _ = _run("validate-raw", raw, tmp_path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.strip()]
    assert "raw_events.csv.gz: DuckDB ran out of memory reading this file" in line
    assert "not a problem of the file's content" in line and "threads" not in line


@pytest.mark.parametrize("name", ["raw_events.jsonl.gz", "raw_events.csv.gz"])
def test_a_file_named_gz_that_is_not_gzipped_is_one_line(raw, tmp_path, name):
    """An export renamed to .gz without compressing it."""
    (raw / name).write_text(JSONL if "jsonl" in name else (BYOD / "raw_events.csv").read_text())
    result, _ = _run("validate-raw", raw, tmp_path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.strip()]
    assert f"{name}: cannot be read (Not a gzipped file" in line


def _gzipped(raw: Path, kind: str) -> Path:
    """The hand-written feed (CSV) or the two JSONL events, gzipped; the file written."""
    if kind == "csv":
        _gzipped_csv(raw)
        return raw / "raw_events.csv.gz"
    path = raw / "raw_events.jsonl.gz"
    path.write_bytes(gzip.compress(JSONL.encode()))
    return path


def _one_line(result) -> str:
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.strip()]
    return line


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
@pytest.mark.parametrize("keep", [0.5, 0.9, 12], ids=["half", "most", "header_only"])
def test_a_truncated_gzip_is_named_so_once(raw, tmp_path, kind, keep):
    """A transfer cut short: DuckDB's own 'IO Error: Unexpected end of GZIP stream' (or
    Python's 'Compressed file ended before ...') was passed on as the problem."""
    path = _gzipped(raw, kind)
    whole = path.read_bytes()
    path.write_bytes(whole[: int(len(whole) * keep) if keep < 1 else keep])
    line = _one_line(_run("validate-raw", raw, tmp_path)[0])
    assert line.count(path.name) == 1
    assert f"{path.name}: truncated or corrupt gzip file (the compressed data ends early)" in line
    assert "IO Error" not in line and "GZIP stream" not in line


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_a_corrupt_gzip_is_named_so(raw, tmp_path, kind):
    """Bytes damaged in the middle of the stream: DuckDB does not check the gzip CRC, and read
    what the damaged stream inflated to (a CSV sniffing error, malformed JSON at some line)."""
    path = _gzipped(raw, kind)
    damaged = bytearray(path.read_bytes())
    middle = len(damaged) // 2
    damaged[middle : middle + 8] = bytes(byte ^ 0x5A for byte in damaged[middle : middle + 8])
    path.write_bytes(bytes(damaged))
    # independently: Python's gzip refuses the damaged file
    with pytest.raises((gzip.BadGzipFile, zlib.error, EOFError)):
        gzip.decompress(bytes(damaged))
    line = _one_line(_run("validate-raw", raw, tmp_path)[0])
    assert f"{path.name}: truncated or corrupt gzip file (" in line and line.count(path.name) == 1


def test_a_repeated_header_column_is_named(raw, tmp_path):
    """A spreadsheet export with a column pasted twice: DuckDB's SQL error quoted the query."""
    lines = (BYOD / "raw_events.csv").read_text().splitlines()
    lines[0] = lines[0].replace("account_id,", "account_id,user_id,")
    lines[1:] = [line.replace(",acme,", ",acme,u-ana,") for line in lines[1:]]
    (raw / "raw_events.csv").write_text("\n".join(lines) + "\n")
    result, _ = _run("validate-raw", raw, tmp_path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.strip()]
    assert "raw_events.csv: header repeats a column name (user_id)" in line
    assert "VARCHAR" not in line
