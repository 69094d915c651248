"""Read a Segment / RudderStack export's messages: JSON Lines, one JSON array, or one JSON
object written over several lines (a pretty-printed message or batch saved as `.json`), plain
or gzipped. A batch envelope of the HTTP API is its messages. A line that is not a JSON
object, or a message whose payload fields are neither objects nor their JSON text, comes back
as an unreadable row's raw text (`lawn.segment` keeps it, to be quarantined)."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lawn.raw_reader import read_problem


class SegmentInputError(Exception):
    """The export cannot be read at all (the message names the file)."""


def decoded(message: dict) -> dict | None:
    """The message with ``properties``, ``context``, ``traits`` (and ``context.traits``) as
    objects: messages re-exported from a warehouse or a log store often hold them as JSON
    text, which is decoded (a warehouse's flattened tables, snake_case columns with context
    and properties spread out, are no messages: `not_a_message`). None when one of them is neither an
    object nor the text of one: the message is then kept as an unreadable row, as a line that
    is not a JSON object is, never half-read."""

    def as_object(value: Any) -> tuple[bool, Any]:
        if isinstance(value, str):
            if not value.strip():
                return True, None  # an empty text column: the field is absent
            try:
                value = json.loads(value)
            except ValueError:
                return False, None
        return value is None or isinstance(value, dict), value

    fixed = dict(message)
    for key in ("properties", "context", "traits"):
        if key in fixed:
            ok, value = as_object(fixed[key])
            if not ok:
                return None
            if value is None and isinstance(fixed[key], str):
                del fixed[key]  # an empty text column ('' or 'null'): as if the field were absent
            else:
                fixed[key] = value
    if isinstance(fixed.get("context"), dict) and "traits" in fixed["context"]:
        ok, traits = as_object(fixed["context"]["traits"])
        if not ok:
            return None
        fixed["context"] = {**fixed["context"], "traits": traits}
    return fixed


def _message(number: int, value: Any, line: str) -> tuple[int, dict | None, str]:
    """(line number, message or None, raw text kept for an unreadable one)."""
    message = decoded(value) if isinstance(value, dict) else None
    if message is None:
        return number, None, line or json.dumps(value, ensure_ascii=False)
    return number, message, ""


def _messages(number: int, value: Any, line: str) -> Iterator[tuple[int, dict | None, str]]:
    """The message(s) of one line or array item: a batch envelope of the HTTP API
    (``{"batch": [...], "context": ..., "sentAt": ...}``) is its messages, each with the
    envelope's ``context`` merged under its own (as Segment's batch API documents) and the
    envelope's ``sentAt`` / ``receivedAt`` where the message has none."""
    if not (isinstance(value, dict) and "batch" in value and "type" not in value):
        yield _message(number, value, line)
        return
    envelope = decoded({key: item for key, item in value.items() if key != "batch"})
    if envelope is None or not isinstance(value["batch"], list):
        yield _message(number, None, line or json.dumps(value, ensure_ascii=False))  # kept whole
        return
    shared = envelope.get("context") if isinstance(envelope.get("context"), dict) else {}
    clocks = {key: envelope[key] for key in ("sentAt", "receivedAt") if envelope.get(key) is not None}
    for item in value["batch"]:
        message = decoded(item) if isinstance(item, dict) else None
        if message is None:
            yield _message(number, item, "")
            continue
        own = message.get("context") if isinstance(message.get("context"), dict) else {}
        merged = {**clocks, **message}
        if shared or "context" in message:
            merged["context"] = {**shared, **own}
        yield number, merged, ""


def _open(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


def read_messages(path: Path) -> Iterator[tuple[int, dict | None, str]]:
    """(line number, message or None, raw line) for a JSON Lines export, a JSON array, or one
    JSON object written over several lines."""
    try:
        with _open(path) as handle:
            head = _first_character(handle)
            handle.seek(0)
            if head == "[":
                try:
                    messages = json.load(handle)
                except ValueError as exc:
                    raise SegmentInputError(f"{path}: not a JSON array of messages ({exc})") from None
                for number, message in enumerate(messages, start=1):
                    yield from _messages(number, message, "")
                return
            if head == "{" and (whole := _one_object(handle)) is not None:
                yield from _messages(1, whole, "")  # one message (or batch) over many lines
                return
            handle.seek(0)
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    message = json.loads(line)
                except ValueError:
                    yield number, None, line.rstrip("\r\n")
                    continue
                yield from _messages(number, message, line.rstrip("\r\n"))
    except UnicodeDecodeError:
        raise SegmentInputError(f"{path}: not UTF-8 text") from None
    except (OSError, EOFError, zlib.error) as exc:  # not gzipped, a truncated or corrupt stream
        raise SegmentInputError(read_problem(path, exc)) from None


def _first_character(handle: io.TextIOBase) -> str:
    """The first character of the export that is not whitespace ("" if none)."""
    head = handle.read(1)
    while head and head.isspace():
        head = handle.read(1)
    return head


def _one_object(handle: io.TextIOBase) -> dict | None:
    """The export as one JSON object written over several lines (a pretty-printed message or
    batch saved as `.json`), or None when its first line is a JSON value by itself (JSON
    Lines) or the whole text is no one object. Read from the start of ``handle``."""
    first = next((line for line in handle if line.strip()), "")
    try:
        json.loads(first)
        return None  # JSON Lines: the first line is a whole value
    except ValueError:
        pass
    handle.seek(0)
    try:
        whole = json.load(handle)
    except ValueError:
        return None
    return whole if isinstance(whole, dict) else None


def is_array(path: Path) -> bool:
    """Whether the export is one JSON array (its messages are numbered, not its lines)."""
    try:
        with _open(path) as handle:
            return _first_character(handle) == "["
    except (OSError, UnicodeDecodeError, EOFError, zlib.error):
        return False  # read_messages names the problem
