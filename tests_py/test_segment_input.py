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


def test_rudderstack_sdks_are_mapped_by_the_library_names_they_send(tmp_path):
    """RudderStack's JavaScript SDK sends `context.library.name` "RudderLabs JavaScript SDK"
    (not its npm name), its iOS SDK "rudder-ios-library", its Android SDK its package name:
    all were quarantined as INVALID_SOURCE. The top-level `channel` is the fallback when
    neither library nor device says it (r05, r06); "mobile" says no platform (r07)."""
    text = (Path(__file__).parent / "fixtures" / "segment" / "rudderstack.jsonl").read_text()
    result, rows = _ingest(tmp_path, text)
    assert result.exit_code == 0, result.output
    sources = {row["event_id"]: row["source"] for row in rows}
    assert sources == {
        "r01": "web", "r02": "ios", "r03": "android", "r04": "backend",
        "r05": "backend", "r06": "web", "r07": "an-in-house-app",
    }  # fmt: skip


def test_segment_library_names_map_to_their_platform():
    from lawn.segment import source_of

    for library, source in [
        ("analytics.js", "web"), ("analytics-ios", "ios"), ("analytics-swift", "ios"),
        ("analytics-android", "android"), ("analytics-kotlin", "android"),
        ("analytics-node", "backend"), ("analytics-python", "backend"),
    ]:  # fmt: skip
        assert source_of({"library": {"name": library}}) == source, library


@pytest.mark.parametrize("array", [False, True], ids=["json-lines", "json-array"])
def test_a_warehouse_table_row_is_refused_naming_its_line(tmp_path, array):
    """A row of a warehouse table (snake_case columns: id, user_id, received_at...) became an
    empty raw row (event_id, user_id and event_name null), exit 0."""
    good = {"type": "track", "event": "Logged In", "messageId": "m1", "userId": "u1",
            "timestamp": "2026-12-02T10:00:00Z", "receivedAt": "2026-12-02T10:00:01Z"}  # fmt: skip
    warehouse = {"id": "wh-1", "anonymous_id": "an1", "user_id": "u1", "event": "logged_in",
                 "received_at": "2026-12-02T10:00:01Z", "timestamp": "2026-12-02T10:00:00Z",
                 "context_library_name": "analytics.js", "login_method": "sso"}  # fmt: skip
    if array:
        result, rows = _ingest(tmp_path, json.dumps([good, warehouse]), name="export.json")
    else:
        result, rows = _ingest(tmp_path, json.dumps(good) + "\n" + json.dumps(warehouse) + "\n")
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.strip()]
    where = "message 2" if array else "line 2"
    assert f"export.json{'' if array else 'l'}: {where}: not a Segment-spec message" in line
    assert "warehouse table" in line
    assert rows == [] and list((tmp_path / "raw").iterdir()) == [], "nothing written, no .partial left"


def test_an_out_that_is_a_file_is_one_line_naming_the_option(tmp_path):
    export = tmp_path / "export.jsonl"
    export.write_text(WAREHOUSE_ROWS)
    taken = tmp_path / "taken"
    taken.write_text("x")
    for out, what in [(taken, "is a file, not a folder"), (taken / "raw", "cannot be written")]:
        result = runner.invoke(app, ["ingest", "segment", str(export), "--out", str(out)])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        [line] = [line for line in result.output.splitlines() if line.strip()]
        assert line.startswith(f"error: --out {out}: {what}"), line
        assert "unexpected" not in line


def test_a_raw_envelope_file_is_named_as_such():
    from lawn.segment import not_a_message

    row = {
        "event_id": "e1",
        "event_name": "page_viewed",
        "user_id": "u1",
        "received_at": "2026-12-02T10:00:01Z",
    }
    assert "lawn's raw envelope already" in not_a_message(row)
    assert not_a_message({"type": "track", "event": "x"}) == ""


def test_one_pretty_printed_message_or_batch_is_read_whole(tmp_path):
    """A single message saved as an indented `.json` (what a debugger's copy or a webhook log
    keeps) was read line by line: eight unreadable rows, exit 0. It is one message; an
    indented batch envelope is its messages; a JSON Lines file is still read by line."""
    message = {
        "type": "track", "messageId": "p1", "event": "Logged In", "userId": "u1",
        "properties": {"login_method": "sso"}, "timestamp": "2026-12-02T10:00:00Z",
        "context": {"library": {"name": "analytics.js"}},
    }  # fmt: skip
    for case in ("one", "batch", "lines"):
        (tmp_path / case).mkdir()
    result, rows = _ingest(tmp_path / "one", json.dumps(message, indent=2), name="message.json")
    assert result.exit_code == 0, result.output
    assert [(row["event_id"], row["event_name"], row["user_id"], row["source"]) for row in rows] == [
        ("p1", "logged_in", "u1", "web")
    ]
    batch = {"batch": [message, {**message, "messageId": "p2"}], "sentAt": "2026-12-02T10:00:01Z"}
    result, rows = _ingest(tmp_path / "batch", json.dumps(batch, indent=2), name="batch.json")
    assert result.exit_code == 0, result.output
    assert sorted(row["event_id"] for row in rows) == ["p1", "p2"]
    # JSON Lines whose second line is broken: read by line, the broken line kept as unreadable
    lines = json.dumps(message) + "\n" + '{"type": "track",\n'
    result, rows = _ingest(tmp_path / "lines", lines)
    assert result.exit_code == 0, result.output
    assert [row["event_id"] for row in rows] == ["p1", None] and "1 unreadable line(s) kept" in result.output


def test_an_experiment_viewed_track_is_an_exposure(tmp_path):
    """Segment's A/B testing spec sends `Experiment Viewed` (experiment_id, variation_name,
    variation_id): it was an unknown event (`experiment_viewed`, quarantined UNKNOWN_EVENT), so
    an experimentation tool's exposures through Segment never reached a readout."""
    context = {"library": {"name": "analytics.js"}, "groupId": "acme"}
    messages = [
        {"type": "track", "event": "Experiment Viewed", "messageId": "x1", "userId": "u1",
         "timestamp": "2026-03-02T10:00:00Z", "context": context,
         "properties": {"experiment_id": "exp_cta", "experiment_name": "CTA", "variation_id": "v2",
                        "variation_name": "treatment"}},
        # only the id of the variation: kept as sent (a value outside the plan is quarantined)
        {"type": "track", "event": "Experiment Viewed", "messageId": "x2", "userId": "u2",
         "timestamp": "2026-03-02T10:01:00Z", "context": context,
         "properties": {"experiment_id": "exp_cta", "variation_id": "control"}},
        # a variant already named as the tracking plan names it wins
        {"type": "track", "event": "Experiment Viewed", "messageId": "x3", "userId": "u3",
         "timestamp": "2026-03-02T10:02:00Z", "context": context,
         "properties": {"experiment_id": "exp_cta", "variant": "holdout", "variation_name": "Holdout 5%"}},
        {"type": "track", "event": "Experiment Started", "messageId": "x4", "userId": "u4",
         "timestamp": "2026-03-02T10:03:00Z", "context": context, "properties": {}},
    ]  # fmt: skip
    result, rows = _ingest(tmp_path, "\n".join(json.dumps(message) for message in messages))
    assert result.exit_code == 0, result.output
    by_id = {row["event_id"]: row for row in rows}
    assert [by_id[key]["event_name"] for key in ("x1", "x2", "x3", "x4")] == [
        "experiment_exposed", "experiment_exposed", "experiment_exposed", "experiment_started"]  # fmt: skip
    variants = {key: json.loads(by_id[key]["properties"])["variant"] for key in ("x1", "x2", "x3")}
    assert variants == {"x1": "treatment", "x2": "control", "x3": "holdout"}
    assert json.loads(by_id["x1"]["properties"])["experiment_id"] == "exp_cta"
    assert by_id["x1"]["account_id"] == "acme"


def test_a_file_with_no_json_message_is_refused_not_converted(tmp_path):
    """A CSV given to `lawn ingest segment` by mistake became rows with no receive time (exit 0),
    passed the gate, and failed the build on int_data_day's key test naming no input (a probe,
    2026-12-07). No line is a JSON message: one line, exit 2, nothing written."""
    export = tmp_path / "export.csv"
    export.write_text("event_id,event_name,received_at\ne1,signed_up,2026-11-20T10:00:00Z\n")
    out = tmp_path / "raw"
    result = runner.invoke(app, ["ingest", "segment", str(export), "--out", str(out)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert text.startswith(f"error: {export}: none of its 2 line(s) is a JSON message"), text
    assert not (out / "raw_events.jsonl").exists()
    # one readable message among broken lines is still converted (the broken ones quarantined)
    message = {"type": "track", "event": "Signed Up", "messageId": "m1", "userId": "u1",
               "timestamp": "2026-11-20T10:00:00Z", "receivedAt": "2026-11-20T10:00:01Z"}  # fmt: skip
    export.write_text("not json\n" + json.dumps(message) + "\n")
    result = runner.invoke(app, ["ingest", "segment", str(export), "--out", str(out)])
    assert result.exit_code == 0 and "1 unreadable line(s) kept" in result.output, result.output


def test_occurred_at_is_segments_skew_corrected_timestamp():
    """A device clock two days ahead: originalTimestamp is in the future of receivedAt, and
    Segment's `timestamp` (originalTimestamp corrected by receivedAt - sentAt) is the event's
    time its spec says to analyse; the converter took originalTimestamp and the event was
    quarantined OCCURRED_IN_FUTURE (a probe, 2026-12-07)."""
    from lawn.segment import envelope_row

    message = {"type": "track", "event": "Logged In", "messageId": "sk-1", "userId": "u1",
               "originalTimestamp": "2026-11-22T10:00:00Z", "sentAt": "2026-11-22T10:00:02Z",
               "receivedAt": "2026-11-20T10:00:03Z", "timestamp": "2026-11-20T10:00:01Z"}  # fmt: skip
    row = envelope_row(message)
    # Segment's rule, restated: timestamp = receivedAt - (sentAt - originalTimestamp)
    assert row["occurred_at"] == message["timestamp"] == "2026-11-20T10:00:01Z"
    assert row["received_at"] == message["receivedAt"]
    del message["timestamp"]  # an export without it: the device's own time
    assert envelope_row(message)["occurred_at"] == message["originalTimestamp"]


def test_tracks_without_a_group_id_take_the_account_of_the_users_group_calls(tmp_path):
    """A B2B export as analytics.js and the server libraries send it: the account is stated by
    group() calls, and tracks carry no context.groupId. Each message without an account of its
    own takes its user's latest group() at or before it; a user's messages before their first
    group call (the sign-up that made the account) take that first group; an anonymous visitor
    takes only a group call of their anonymousId at or before the page, never a later one; a
    message naming its own account keeps it. Before, every track of such an export had no
    account (a probe, 2026-12-07) and every account metric was empty."""

    def message(kind: str, mid: str, at: str, **fields) -> str:
        body = {"type": kind, "messageId": mid, "timestamp": at, "receivedAt": at, **fields}
        return json.dumps(body)

    lines = [
        message("page", "p0", "2026-11-01T08:00:00Z", anonymousId="a1", name="Pricing"),
        message("track", "t1", "2026-11-01T09:00:00Z", userId="u1", anonymousId="a1", event="Signed Up"),
        message("group", "g1", "2026-11-01T09:00:05Z", userId="u1", anonymousId="a1", groupId="acme"),
        message("page", "p1", "2026-11-01T09:10:00Z", anonymousId="a1", name="Home"),
        message("track", "t2", "2026-11-05T10:00:00Z", userId="u1", event="Report Created"),
        # u1 moves to another workspace on the 10th; the export is not in time order
        message("track", "t4", "2026-11-12T10:00:00Z", userId="u1", event="Report Created"),
        message("group", "g2", "2026-11-10T10:00:00.000+01:00", userId="u1", groupId="globex"),
        message("track", "t3", "2026-11-10T08:59:59Z", userId="u1", event="Report Created"),
        message("track", "t5", "2026-11-12T11:00:00Z", userId="u1", event="Report Created",
                context={"groupId": "initech"}),
        message("track", "t6", "2026-11-12T12:00:00Z", userId="u2", event="Report Created"),
        message("page", "p2", "2026-11-02T08:00:00Z", anonymousId="a9", name="Home"),
        # ids as identity compares them: a capital is the same user; a null marker is nobody
        message("group", "g3", "2026-11-03T09:00:00Z", userId="Usr_42", groupId="hooli"),
        message("track", "t7", "2026-11-03T10:00:00Z", userId=" usr_42", event="Plan Changed"),
        message("group", "g4", "2026-11-03T09:00:00Z", userId="undefined", anonymousId="a7", groupId="ws_p"),
        message("track", "t8", "2026-11-03T10:00:00Z", userId="undefined", anonymousId="a8", event="Login"),
        message("track", "t9", "2026-11-03T10:00:00Z", userId="undefined", anonymousId="a7", event="Login"),
    ]  # fmt: skip
    result, rows = _ingest(tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    accounts = {row["event_id"]: row["account_id"] for row in rows}
    assert accounts == {
        "p0": None,  # an anonymous visit before the group call: not yet in the account
        "t1": "acme",  # the sign-up, five seconds before the group call it led to
        "g1": "acme",
        "p1": "acme",  # the same browser after the group call
        "t2": "acme",
        "t3": "acme",  # one second before 09:00:00Z, the time of g2's +01:00
        "g2": "globex",
        "t4": "globex",
        "t5": "initech",  # its own context.groupId wins
        "t6": None,  # a user without group calls
        "p2": None,
        "g3": "hooli",
        "t7": "hooli",  # `Usr_42` and ` usr_42` are one user to identity
        "g4": "ws_p",
        "t8": None,  # `undefined` is no user: another browser's group call is not its account
        "t9": "ws_p",  # ... but its own browser's (a7) is
    }


def test_a_track_with_null_properties_has_no_properties():
    """`"properties": null` is a track without properties, as one without the key (the SDKs send
    {}): it became a row without properties, quarantined as MALFORMED_PROPERTIES_JSON. A value
    that is no object (a string) is kept as it was sent, and quarantined."""
    from lawn.segment import envelope_row

    base = {"type": "track", "event": "Logged In", "messageId": "m", "userId": "u1",
            "timestamp": "2026-11-20T10:00:00Z"}  # fmt: skip
    assert envelope_row({**base, "properties": None})["properties"] == "{}"
    assert envelope_row(base)["properties"] == "{}"
    assert envelope_row({**base, "properties": "login_method=sso"})["properties"] == "login_method=sso"
