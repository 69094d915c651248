"""`lawn ingest segment` on what real exports send beyond the plain spec: warehouse rows whose
`properties`, `context` and `traits` are JSON text, and the HTTP API's batch envelope. One
raw row per message, nothing dropped, never a traceback."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lawn.cli import app

runner = CliRunner()

# rows of a Segment / RudderStack warehouse table re-exported as JSON Lines: the nested
# columns are JSON text, as the warehouse holds them (w05, w06: a context that is no object)
WAREHOUSE_ROWS = (Path(__file__).parent / "fixtures" / "segment" / "warehouse_rows.jsonl").read_text()


def _ingest(tmp_path: Path, text: str, name: str = "export.jsonl"):
    export = tmp_path / name
    export.write_text(text)
    out = tmp_path / "raw"
    result = runner.invoke(app, ["ingest", "segment", str(export), "--out", str(out)])
    rows = []
    if (out / "raw_events.jsonl").exists():
        rows = [json.loads(line) for line in (out / "raw_events.jsonl").read_text().splitlines()]
    return result, rows


def test_warehouse_rows_with_json_text_columns_are_decoded(tmp_path):
    """A page with a text `properties` crashed (dict('{...}'), exit 1); a track with a text
    `context` lost it silently (source null: quarantined as INVALID_SOURCE)."""
    result, rows = _ingest(tmp_path, WAREHOUSE_ROWS)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert "wrote 6 raw events" in result.output and "2 unreadable line(s) kept" in result.output
    by_id = {row["event_id"]: row for row in rows}
    page, track, identify, logout = by_id["w01"], by_id["w02"], by_id["w03"], by_id["w04"]
    assert (page["event_name"], page["source"]) == ("page_viewed", "web")
    assert json.loads(page["properties"]) == {
        "title": "Pricing", "page_path": "/pricing", "referrer": "https://news.example/"}  # fmt: skip
    assert (track["source"], track["account_id"]) == ("backend", "acme")
    assert json.loads(track["context"])["library"] == {"name": "analytics-python"}
    assert json.loads(track["properties"]) == {"login_method": "sso"}
    assert json.loads(identify["properties"]) == {"email": "ana@acme.example", "first_name": "Ana"}
    assert (logout["source"], logout["properties"]) == ("backend", "{}")  # an empty text: no properties


def test_a_column_that_is_not_a_json_object_keeps_the_message_as_an_unreadable_row(tmp_path):
    """Never half-read, never dropped: the message is kept whole for staging to quarantine."""
    _, rows = _ingest(tmp_path, WAREHOUSE_ROWS)
    unreadable = [row for row in rows if row["event_id"] is None]
    assert len(rows) == 6 and len(unreadable) == 2
    kept = [json.loads(row["properties"])["messageId"] for row in unreadable]
    assert kept == ["w05", "w06"]
    assert all(row["received_at"] == "2026-11-28T10:03:01Z" for row in unreadable)


def test_a_json_array_export_with_text_columns_is_decoded(tmp_path):
    messages = [json.loads(line) for line in WAREHOUSE_ROWS.splitlines()[:2]]
    result, rows = _ingest(tmp_path, json.dumps(messages), name="export.json")
    assert result.exit_code == 0, result.output
    assert [json.loads(row["properties"]) for row in rows] == [
        {"title": "Pricing", "page_path": "/pricing", "referrer": "https://news.example/"},
        {"login_method": "sso"},
    ]


def test_a_batch_envelope_is_its_messages(tmp_path):
    """A line of the HTTP API's batch call (what a proxy or a replay log keeps) was one empty
    row and its messages were lost, exit 0. The envelope's context is merged under each
    message's own and its sentAt is the messages' clock."""
    text = (Path(__file__).parent / "fixtures" / "segment" / "batch_envelope.jsonl").read_text()
    result, rows = _ingest(tmp_path, text)
    assert result.exit_code == 0, result.output
    assert "wrote 5 raw events" in result.output and "2 unreadable line(s) kept" in result.output
    by_id = {row["event_id"]: row for row in rows}
    assert set(by_id) == {"b01", "b02", "s01", None}
    track, identify = by_id["b01"], by_id["b02"]
    assert (track["source"], track["account_id"], track["received_at"]) == (
        "backend", "acme", "2026-11-28T10:00:05Z")  # fmt: skip
    context = json.loads(identify["context"])
    assert context["ip"] == "203.0.113.7" and context["library"] == {"name": "analytics-node"}
    assert (identify["account_id"], identify["received_at"]) == ("acme", "2026-11-28T10:00:05Z")
    assert json.loads(identify["properties"]) == {"email": "ana@acme.example"}
    kept = [row["properties"] for row in rows if row["event_id"] is None]
    assert kept[0] == '"not a message"' and json.loads(kept[1])["batch"] == "not a list"


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_broken_gzipped_export_is_one_line(tmp_path, damage):
    """A .gz export cut short said 'cannot be read (Compressed file ended ...)'; a damaged
    one (deflate data that does not inflate, a CRC that does not match) could end in a
    traceback (zlib.error is no OSError)."""
    data = bytearray(gzip.compress(WAREHOUSE_ROWS.encode()))
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        middle = len(data) // 2
        data[middle : middle + 8] = bytes(byte ^ 0x5A for byte in data[middle : middle + 8])
    export = tmp_path / "export.jsonl.gz"
    export.write_bytes(bytes(data))
    result = runner.invoke(app, ["ingest", "segment", str(export), "--out", str(tmp_path / "raw")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.strip()]
    assert "export.jsonl.gz: truncated or corrupt gzip file (" in line
