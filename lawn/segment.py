"""Map a Segment / RudderStack message export onto lawn's raw event envelope.

The Segment spec (track, identify, page, screen, group, alias) is what most teams already
export. Each message becomes exactly one envelope row; nothing is dropped or repaired here:
a message that breaks the contract is quarantined by staging with its reason, like any raw
row, so raw = valid + quarantined + duplicates holds for an ingested export too. The mapping
table is in docs/bring_your_own_data.md.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from lawn.contract import RAW_EVENT_COLUMNS
from lawn.raw_reader import INTEGER_TEXT_LIMIT
from lawn.segment_groups import Memberships, memberships
from lawn.segment_reader import SegmentInputError, is_array, read_messages

__all__ = ["SegmentInputError", "convert_export", "envelope_row", "not_a_message", "source_of"]

# context.library.name as the Segment and RudderStack SDKs send it (lower case) -> the
# envelope's source. Segment: analytics.js (classic and analytics-next: "analytics.js"),
# analytics-ios / analytics-swift, analytics-android / analytics-kotlin, the server libraries.
# RudderStack: the JavaScript SDK sends "RudderLabs JavaScript SDK", its iOS SDKs
# "rudder-ios-library", its Android SDKs their package name (com.rudderstack.android.sdk.core,
# com.rudderstack.android.sdk), its server SDKs rudder-analytics-python, -php,
# rudderanalytics-ruby, RudderAnalytics.NET (node, go and java send Segment's analytics-*).
# A cross-platform SDK (React Native, Flutter) is not listed: its device type decides.
LIBRARY_SOURCES: dict[str, str] = {
    **dict.fromkeys(
        ("analytics.js", "analytics-next", "@segment/analytics-next", "rudderlabs javascript sdk",
         "rudder-sdk-js", "@rudderstack/analytics-js"),
        "web",
    ),
    **dict.fromkeys(
        ("analytics-ios", "analytics-swift", "rudder-ios-library", "rudderlabs ios sdk", "rudder-sdk-ios",
         "rudder-ios-sdk"),
        "ios",
    ),
    **dict.fromkeys(
        ("analytics-android", "analytics-kotlin", "com.rudderstack.android.sdk.core",
         "com.rudderstack.android.sdk", "rudderlabs android sdk", "rudder-sdk-android"),
        "android",
    ),
    **dict.fromkeys(
        ("analytics-node", "@segment/analytics-node", "analytics-python", "analytics-go", "analytics-java",
         "analytics-ruby", "analytics-php", "analytics.net", "http", "rudder-analytics-python",
         "rudder-analytics-php", "rudderanalytics-ruby", "rudder-sdk-ruby-sync", "rudderanalytics.net",
         "rudder-sdk-node", "rudder-sdk-python", "rudderstack-python"),
        "backend",
    ),
}  # fmt: skip
# RudderStack's top-level `channel`, the fallback when neither library nor device says it
CHANNEL_SOURCES: dict[str, str] = {"web": "web", "server": "backend", "sources": "backend"}
TRAIT_NAMES = {
    "email": "email",
    "first_name": "first_name",
    "firstName": "first_name",
    "last_name": "last_name",
    "lastName": "last_name",
    "role": "role",
}


def snake_case(name: str) -> str:
    """`Order Completed` / `orderCompleted` / `order-completed` -> `order_completed`."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^0-9a-zA-Z]+", "_", spaced).strip("_").lower()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _id_text(value: Any) -> str | None:
    """An id as text; a whole number sent as a float (``42.0``) is the id ``42``, as the
    loader reads it from JSON Lines and Parquet (lawn.raw_reader.integral_number_text)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < INTEGER_TEXT_LIMIT:
        return str(int(value))
    return _text(value)


def _get(mapping: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def source_of(context: dict, channel: Any = None) -> str | None:
    """web / ios / android / backend from the library that sent the message, else the
    device type (or OS name), else RudderStack's top-level ``channel`` (web, server, sources;
    "mobile" says neither ios nor android); an unknown library is kept as it is (and
    quarantined as INVALID_SOURCE)."""
    library = str(_get(context, "library", "name") or "").strip().lower()
    if library in LIBRARY_SOURCES:
        return LIBRARY_SOURCES[library]
    device = str(_get(context, "device", "type") or _get(context, "os", "name") or "").strip().lower()
    if device in ("ios", "android", "web"):
        return device
    by_channel = CHANNEL_SOURCES.get(str(channel or "").strip().lower())
    return by_channel or library or None


# Segment's A/B testing spec: `Experiment Viewed` is the exposure (experiment_id, and the
# variation as variation_name / variation_id)
EXPERIMENT_VIEWED = "experiment_viewed"


def event_name_of(message: dict) -> str | None:
    kind = str(message.get("type") or "").lower()
    if kind == "track":
        if message.get("event") is None:
            return None
        name = snake_case(str(message["event"]))
        return "experiment_exposed" if name == EXPERIMENT_VIEWED else name
    return {
        "identify": "identified",
        "alias": "identified",
        "page": "page_viewed",
        "screen": "page_viewed",
        "group": "group_identified",
    }.get(kind, snake_case(kind) or None)


def _identify_properties(traits: dict) -> dict:
    properties = {TRAIT_NAMES[key]: value for key, value in traits.items() if key in TRAIT_NAMES}
    if "first_name" not in properties and isinstance(traits.get("name"), str) and traits["name"].strip():
        first, _, last = traits["name"].strip().partition(" ")
        properties["first_name"] = first
        if last:
            properties["last_name"] = last
    return properties


def _exposure_properties(properties: dict) -> dict:
    """An `Experiment Viewed` track's properties with the variant the tracking plan's
    experiment_exposed needs: its own `variant`, else `variation_name`, else `variation_id`
    (kept as sent: a value outside control / treatment / holdout is quarantined, not lost)."""
    exposure = dict(properties)
    if exposure.get("variant") in (None, ""):
        for key in ("variation_name", "variation_id"):
            if exposure.get(key) not in (None, ""):
                exposure["variant"] = exposure[key]
                break
    return exposure


def _alias_previous_id(message: dict) -> Any:
    """The id an alias says is ``userId`` too: ``previousId`` (an anonymousId, or an older
    userId: it then lands as an anonymous id and links no user_id, docs/identity.md), else
    the message's own ``anonymousId`` (some SDKs leave previousId out and send the cookie)."""
    previous = message.get("previousId")
    return previous if previous not in (None, "") else message.get("anonymousId")


def _page_properties(message: dict) -> dict:
    properties = dict(message.get("properties") or {})
    if "page_path" not in properties:
        path = properties.pop("path", None) or _get(message, "context", "page", "path")
        if path is None and message.get("type") == "screen":
            path = "/" + snake_case(str(message.get("name") or "screen"))
        if path is not None:
            properties["page_path"] = path
    if "referrer" in properties or _get(message, "context", "page", "referrer"):
        properties["referrer"] = properties.get("referrer") or _get(message, "context", "page", "referrer")
    campaign = _get(message, "context", "campaign", "source")
    if campaign and "utm_source" not in properties:
        properties["utm_source"] = campaign
    return properties


def envelope_row(message: dict, groups: Memberships | None = None) -> dict[str, str | None]:
    """One Segment message as a raw envelope row (every value text or None); ``groups``: the
    export's group() calls, for a message that names no account itself (lawn.segment_groups)."""
    context = message.get("context") if isinstance(message.get("context"), dict) else {}
    properties = message.get("properties") if isinstance(message.get("properties"), dict) else {}
    traits = message.get("traits") if isinstance(message.get("traits"), dict) else {}
    traits = traits or (context.get("traits") if isinstance(context.get("traits"), dict) else {})
    kind = str(message.get("type") or "").lower()
    if kind == "identify":
        payload: Any = _identify_properties(traits)
    elif kind == "alias":
        payload = {}  # an alias carries no traits: it only states previousId is userId
    elif kind in ("page", "screen"):
        payload = _page_properties(message)
    elif kind == "group":
        payload = {"group_id": message.get("groupId"), **traits}
    elif kind == "track" and event_name_of(message) == "experiment_exposed":
        payload = _exposure_properties(properties)
    else:
        # a track sent with `"properties": null` has no properties, like one sent without the
        # key (SDKs send {}); any other value that is no object is kept, and quarantined
        payload = message.get("properties")
        payload = {} if payload is None else payload
    if isinstance(payload, dict):
        payload = {key: value for key, value in payload.items() if key != "schema_version"}
    source = source_of(context, message.get("channel"))
    envelope_context = dict(context)
    envelope_context.setdefault("platform", source)
    if _get(context, "app", "version") is not None:
        envelope_context.setdefault("app_version", _get(context, "app", "version"))
    version = properties.get("schema_version") or _get(context, "protocols", "schemaVersion") or 1
    account = (
        context.get("groupId")
        or properties.get("account_id")
        or traits.get("account_id")
        or _get(traits, "company", "id")
        or (message.get("groupId") if kind == "group" else None)
        or (groups.account_of(message) if groups is not None else None)
    )
    row = {
        "event_id": _text(message.get("messageId")),
        "event_name": event_name_of(message),
        "schema_version": _text(version),
        "source": source,
        # Segment's `timestamp` is the event time corrected for the device's clock skew (the one
        # its spec says to analyse; in a client's own payload it equals originalTimestamp)
        "occurred_at": _text(message.get("timestamp") or message.get("originalTimestamp")),
        # without Segment's receipt (a proxy's log of the client's batch), the batch's sentAt is
        # nearer the receipt than a queued event's own time
        "received_at": _text(message.get("receivedAt") or message.get("sentAt") or message.get("timestamp")),
        "anonymous_id": _id_text(
            _alias_previous_id(message) if kind == "alias" else message.get("anonymousId")
        ),
        "device_id": _id_text(_get(context, "device", "id")),
        "user_id": _id_text(message.get("userId")),
        "account_id": _id_text(account),
        "context": _text(envelope_context),
        "properties": _text(payload),
    }
    return row


def unreadable_row(line: str) -> dict[str, str | None]:
    """A line that is not a JSON object: kept as a raw row that staging will quarantine."""
    row: dict[str, str | None] = dict.fromkeys(RAW_EVENT_COLUMNS)
    row["properties"] = line
    return row


# keys of a spec message that say who and what it is: a message with none of them is no
# Segment message (a warehouse table's row, with snake_case columns, is one), never an empty row
IDENTIFYING_KEYS = ("type", "messageId", "userId", "anonymousId")
# a warehouse table's columns (tracks, pages, identifies): spec fields in snake_case
WAREHOUSE_KEYS = ("id", "message_id", "user_id", "anonymous_id", "received_at", "original_timestamp")


def not_a_message(message: dict) -> str:
    """Why ``message`` is no Segment-spec message ("" if it is one): it has none of its
    identifying keys (type, messageId, userId, anonymousId)."""
    if any(message.get(key) not in (None, "") for key in IDENTIFYING_KEYS):
        return ""
    why = "not a Segment-spec message (no type, messageId, userId or anonymousId)"
    if "event_id" in message and "event_name" in message:
        why += "; it looks like a row of lawn's raw envelope already: load it as it is (--raw-dir)"
    elif any(key in message for key in WAREHOUSE_KEYS):
        why += (
            "; its keys are snake_case like a row of a Segment or RudderStack warehouse table "
            "(tracks, pages), which is not read: export the messages as the API receives them"
        )
    return why


def _out_problem(out_dir: Path, exc: OSError) -> SegmentInputError:
    if isinstance(exc, FileExistsError) or (out_dir.exists() and not out_dir.is_dir()):
        return SegmentInputError(
            f"--out {out_dir}: is a file, not a folder (give the folder to write raw_events.jsonl into)"
        )
    return SegmentInputError(f"--out {out_dir}: cannot be written ({exc.strerror or type(exc).__name__})")


def convert_export(path: Path, out_dir: Path) -> tuple[Path, int, int]:
    """Write ``out_dir/raw_events.jsonl`` from the export; (file, rows, unreadable lines).

    An unreadable line gets the ``received_at`` of the readable message before it (or, at
    the start of the file, after it): it arrived in the same delivery, and a made-up clock
    would move the data day. An export that cannot be read, a message that is no Segment
    message (`not_a_message`), an export of which no line is JSON (another file given by
    mistake) and an ``out_dir`` that cannot be written are a `SegmentInputError`, and nothing
    is written.
    """
    if not path.exists():
        raise SegmentInputError(f"{path}: no such file")
    target = out_dir / "raw_events.jsonl"
    temporary = target.with_name(target.name + ".partial")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as handle:
            rows, unreadable = _write_rows(path, handle)
        if rows == 0:
            raise SegmentInputError(f"{path}: no messages")
        if unreadable == rows:  # a CSV or another tool's file given by mistake: nothing to keep
            raise SegmentInputError(
                f"{path}: none of its {rows:,} line(s) is a JSON message (is it a Segment or "
                "RudderStack export: JSON Lines or a JSON array?)"
            )
        temporary.replace(target)
    except SegmentInputError:
        temporary.unlink(missing_ok=True)
        raise
    except OSError as exc:  # --out is a file, or not writable
        if temporary.is_file():
            temporary.unlink()
        raise _out_problem(out_dir, exc) from None
    return target, rows, unreadable


def _write_rows(path: Path, handle: io.TextIOBase) -> tuple[int, int]:
    """Write the export's envelope rows to ``handle``; (rows, unreadable lines)."""
    rows = unreadable = 0
    last_received: str | None = None
    pending: list[dict[str, str | None]] = []
    array = is_array(path)
    # a first pass for the group() calls: a user's tracks name no account (lawn.segment_groups)
    groups = memberships(message for _number, message, _line in read_messages(path))

    def write(row: dict[str, str | None]) -> None:
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    for number, message, line in read_messages(path):
        rows += 1
        if message is None:
            unreadable += 1
            row = unreadable_row(line)
            if last_received is None:
                pending.append(row)
                continue
            row["received_at"] = last_received
            write(row)
            continue
        if why := not_a_message(message):
            raise SegmentInputError(f"{path}: {'message' if array else 'line'} {number}: {why}")
        row = envelope_row(message, groups)
        last_received = row["received_at"] or last_received
        for waiting in pending:
            waiting["received_at"] = last_received
            write(waiting)
        pending.clear()
        write(row)
    for waiting in pending:
        write(waiting)
    return rows, unreadable
