"""Raw CSV files in the encodings spreadsheets write: Windows-1252 (Excel's "CSV (Comma
delimited)"), UTF-16 with a byte order mark ("Unicode Text"), UTF-8. Hand-written bytes; the
expected text is written out by hand and checked against Python's own decoding."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lawn.cli import app
from tests_py.conftest import query

BYOD = Path(__file__).parent / "fixtures" / "byod"
runner = CliRunner()

HEADER = b"account_id,account_name,industry,country,sales_owner\r\n"
# Excel's Windows-1252, CRLF line ends: e9 = é, fc = ü, df = ß, 93/94 = curly double quotes,
# 80 = €, 96 = en dash, d8 = Ø, 99 = ™
CP1252_ROWS = (
    b"acc-1,Soci\xe9t\xe9 G\xe9n\xe9rale,Banque,FR,Zo\xeb Dupr\xe9\r\n"
    b"acc-2,M\xfcller GmbH,Maschinenbau,DE,J\xfcrgen Wei\xdf\r\n"
    b'acc-3,"\x93Smart\x94 Caf\xe9, Ltd",Food \x96 \x80 5,GB,Ana\r\n'
    b"acc-4,\xd8rsted A/S,Energy\x99,DK,S\xf8ren\r\n"
)
EXPECTED = [
    ("acc-1", "Société Générale", "Banque", "FR", "Zoë Dupré"),
    ("acc-2", "Müller GmbH", "Maschinenbau", "DE", "Jürgen Weiß"),
    ("acc-3", "“Smart” Café, Ltd", "Food \u2013 € 5", "GB", "Ana"),  # an en dash
    ("acc-4", "Ørsted A/S", "Energy™", "DK", "Søren"),
]
TEXT = (HEADER + CP1252_ROWS).decode("cp1252")


@pytest.fixture()
def feed(tmp_path, monkeypatch) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(BYOD / "raw_events.csv", raw)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))  # where copies go
    (tmp_path / "scratch").mkdir()
    return raw


def _load(raw: Path):
    db = raw.parent / "warehouse.duckdb"
    return runner.invoke(app, ["load", "--raw-dir", str(raw)], env={"LAWN_DUCKDB_PATH": str(db)}), db


def _accounts(db: Path) -> list[tuple]:
    frame = query(db, "select account_id, account_name, industry, country, sales_owner from raw.crm_accounts")
    return sorted(frame.itertuples(index=False, name=None))


def test_python_reads_the_hand_written_bytes_as_written():
    rows = list(csv.reader(io.StringIO(TEXT, newline="")))
    assert [tuple(row) for row in rows[1:]] == EXPECTED


@pytest.mark.parametrize("gzipped", [False, True], ids=["csv", "csv.gz"])
def test_a_windows_1252_crm_lands_with_its_text_and_a_warning(feed, gzipped):
    data = HEADER + CP1252_ROWS
    name = "crm_accounts.csv.gz" if gzipped else "crm_accounts.csv"
    (feed / name).write_bytes(gzip.compress(data) if gzipped else data)
    result, db = _load(feed)
    assert result.exit_code == 0, result.output
    assert _accounts(db) == EXPECTED
    [warning] = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert (
        f"{feed / name}: read as Windows-1252 on the 4 line(s) that are not UTF-8 text (the first: line 2)"
        in warning
    )
    assert not list((feed.parent / "scratch").glob("lawn-raw-*")), "the UTF-8 copy is deleted"
    validated = runner.invoke(app, ["validate-raw", "--raw-dir", str(feed)])
    assert validated.exit_code == 0 and "read as Windows-1252" in validated.output


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_is_read(feed, codec):
    bom = codecs.BOM_UTF16_LE if codec == "utf-16-le" else codecs.BOM_UTF16_BE
    (feed / "crm_accounts.csv").write_bytes(bom + TEXT.encode(codec))
    result, db = _load(feed)
    assert result.exit_code == 0, result.output
    assert _accounts(db) == EXPECTED
    assert "warning:" not in result.output
    assert not list((feed.parent / "scratch").glob("lawn-raw-*"))


def test_a_byte_windows_1252_lacks_is_refused_in_one_line(feed):
    # 0x81 has no character in Windows-1252: on line 3, after a line with é
    rows = b"acc-1,zq-secret Soci\xe9t\xe9,x,FR,y\r\nacc-2,zq-secret \x81,x,DE,y\r\n"
    (feed / "crm_accounts.csv").write_bytes(HEADER + rows)
    result, db = _load(feed)
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if "crm_accounts.csv" in line]
    assert (
        f"{feed / 'crm_accounts.csv'}: line 3: byte 0x81 is not Windows-1252 (nor is the line UTF-8)" in line
    )
    assert "zq-secret" not in result.output and not db.exists()


def test_an_error_in_a_transcoded_file_names_the_file_and_its_line(feed):
    # an unterminated quote on line 4 of a Windows-1252 file: DuckDB reads the UTF-8 copy
    rows = CP1252_ROWS.splitlines(keepends=True)
    broken = rows[0] + rows[1] + b'acc-3,"zq-secret unterminated,x,GB,y\r\n'
    (feed / "crm_accounts.csv").write_bytes(HEADER + broken)
    result, _ = _load(feed)
    assert result.exit_code == 2
    [line] = [line for line in result.output.splitlines() if "crm_accounts.csv" in line]
    assert f"{feed / 'crm_accounts.csv'}: line 4: Value with unterminated quote found" in line, line
    assert "lawn-raw-" not in result.output and "zq-secret" not in result.output
    assert not list((feed.parent / "scratch").glob("lawn-raw-*"))


def test_utf16_without_its_byte_order_mark_is_named(feed):
    (feed / "crm_accounts.csv").write_bytes(TEXT.encode("utf-16-le"))
    result, _ = _load(feed)
    assert result.exit_code == 2
    assert f"{feed / 'crm_accounts.csv'}: line 1: holds NUL bytes" in result.output


def test_a_utf8_file_is_read_as_it_is(feed):
    data = TEXT.encode("utf-8")
    (feed / "crm_accounts.csv").write_bytes(data)
    from lawn.raw_reader import readable_source

    with readable_source(feed / "crm_accounts.csv") as readable:
        assert readable.path == feed / "crm_accounts.csv" and not readable.warning  # not copied
    result, db = _load(feed)
    assert result.exit_code == 0 and "warning:" not in result.output, result.output
    assert _accounts(db) == EXPECTED
    assert (feed / "crm_accounts.csv").read_bytes() == data


def test_utf8_with_its_byte_order_mark_but_other_bytes_is_refused(feed):
    (feed / "crm_accounts.csv").write_bytes(codecs.BOM_UTF8 + HEADER + CP1252_ROWS)
    result, _ = _load(feed)
    assert result.exit_code == 2
    assert f"{feed / 'crm_accounts.csv'}: line 2: not UTF-8 text, though the file starts" in result.output


def test_an_error_in_a_crlf_file_quotes_no_row(feed):
    """DuckDB puts the row of a CRLF file (what Excel writes) on a line of its own after
    "Original Line:"; it was taken for the reason and printed."""
    (feed / "crm_accounts.csv").write_bytes(
        HEADER + b"acc-1,zq-secret,x,FR,y\r\nacc-2,zq-secret,x,DE,y,z,w\r\n"
    )
    result, _ = _load(feed)
    assert result.exit_code == 2 and "zq-secret" not in result.output, result.output
    assert f"{feed / 'crm_accounts.csv'}: line 3: Expected Number of Columns: 5" in result.output


def _jsonl(rows: list[tuple]) -> str:
    names = HEADER.decode().strip().split(",")
    return "".join(
        json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False) + "\r\n" for row in rows
    )


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("cp1252"),
        lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),  # Windows PowerShell 5's `>`
        lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
    ],
    ids=["windows-1252", "utf-16-le", "utf-8-bom"],
)
def test_json_lines_in_those_encodings_are_read(feed, encode):
    text = _jsonl(EXPECTED)
    assert "Société" in text  # ensure_ascii=False: the accents are bytes of the encoding
    (feed / "crm_accounts.jsonl").write_bytes(encode(text))
    result, db = _load(feed)
    assert result.exit_code == 0, result.output
    assert _accounts(db) == EXPECTED
    assert ("read as Windows-1252" in result.output) == (encode(text)[:1] == b"{")
    assert not list((feed.parent / "scratch").glob("lawn-raw-*"))


def test_a_bad_line_of_a_transcoded_json_lines_file_is_named(feed):
    text = _jsonl(EXPECTED[:2]) + '{"account_id": "zq-secret", \r\n'
    (feed / "crm_accounts.jsonl").write_bytes(codecs.BOM_UTF16_BE + text.encode("utf-16-be"))
    result, _ = _load(feed)
    assert result.exit_code == 2 and "zq-secret" not in result.output
    assert f"{feed / 'crm_accounts.jsonl'}: line 3: not a JSON object" in result.output, result.output


def test_a_windows_1252_delivery_in_a_folder_is_named_in_its_warning(feed):
    """marketing_spend as one file per delivery: the second one saved by Excel on Windows."""
    folder = feed / "marketing_spend"
    folder.mkdir()
    header = b"spend_date,channel,spend_usd\r\n"
    (folder / "2026-11-29.csv").write_bytes(header + b"2026-11-29,paid_search,10.5\r\n")
    (folder / "2026-11-30.csv").write_bytes(header + b"2026-11-30,R\xe9seaux sociaux,7\r\n")
    result, db = _load(feed)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {folder / '2026-11-30.csv'}: read as Windows-1252 on the 1 line(s) that are not UTF-8 "
        "text (the first: line 2); the others as UTF-8"
    ]
    channels = query(db, "select channel from raw.marketing_spend order by spend_date")["channel"].tolist()
    assert (
        channels
        == ["paid_search", b"R\xe9seaux sociaux".decode("cp1252")]
        == ["paid_search", "Réseaux sociaux"]
    )


def test_the_nightly_validate_step_carries_the_warning(feed):
    from lawn.nightly import NightlyConfig, step_validate

    (feed / "crm_accounts.csv").write_bytes(HEADER + CP1252_ROWS)
    out = feed.parent
    config = NightlyConfig(out / "w.duckdb", out / "m", out / "e", out / "r", raw_dir=feed)
    summary = step_validate(config, {})
    assert summary.endswith(
        f"; warning: {feed / 'crm_accounts.csv'}: read as Windows-1252 on the 4 line(s) that are not "
        "UTF-8 text (the first: line 2); the others as UTF-8"
    )


def test_a_utf8_file_with_one_stray_windows_1252_byte_keeps_its_other_lines(feed):
    """A UTF-8 CRM export with one line pasted from a Windows program: that line is read as
    Windows-1252, every other line as the UTF-8 it is (read whole as Windows-1252, the UTF-8
    lines' accents became mojibake: `Zoë` as `ZoÃ«`)."""
    utf8_rows = [
        "acc-1,Société Générale,Banque,FR,Zoë Dupré\r\n".encode(),
        "acc-2,Müller GmbH,Maschinenbau,DE,Jürgen Weiß\r\n".encode(),
    ]
    stray = b"acc-3,Caf\xe9 Ltd,Food,GB,Ana\r\n"  # é as Windows-1252's one byte
    (feed / "crm_accounts.csv").write_bytes(HEADER + utf8_rows[0] + stray + utf8_rows[1])
    result, db = _load(feed)
    assert result.exit_code == 0, result.output
    assert _accounts(db) == [
        ("acc-1", "Société Générale", "Banque", "FR", "Zoë Dupré"),
        ("acc-2", "Müller GmbH", "Maschinenbau", "DE", "Jürgen Weiß"),
        ("acc-3", "Café Ltd", "Food", "GB", "Ana"),
    ]
    [warning] = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert "on the 1 line(s) that are not UTF-8 text (the first: line 3); the others as UTF-8" in warning
