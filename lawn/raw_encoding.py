"""The text encoding of a raw CSV or JSON Lines file, and a UTF-8 copy for DuckDB when it is
not UTF-8.

DuckDB reads UTF-8. What a spreadsheet writes: Excel's "CSV UTF-8" is UTF-8 with a byte order
mark (read as it is); its "CSV (Comma delimited)" on Windows is Windows-1252 (cp1252: é, €,
curly quotes); "Unicode Text" and some exports are UTF-16 with a byte order mark (so is what
Windows PowerShell 5 redirects to a file, JSON Lines too). So:

- a byte order mark says UTF-8 or UTF-16 (little or big endian); a UTF-8 file is read as it
  is, never copied (the check is one pass over its bytes: docs/bring_your_own_data.md);
- a file that is not valid UTF-8 and has no mark is read line by line: a line that is UTF-8
  text stays UTF-8, any other is read as Windows-1252, which decodes every byte but 0x81,
  0x8D, 0x8F, 0x90 and 0x9D. A Windows export is all Windows-1252 (its ASCII lines read the
  same either way), and a UTF-8 file with one stray Windows-1252 byte keeps its other lines'
  accents (read whole as Windows-1252, `Zoë` became `ZoÃ«`). The loader reports how many
  lines were read as Windows-1252 (`Readable.warning`), and a line holding one of the five
  bytes is refused in one line naming the file and line.

A file read in another encoding is transcoded, streaming, into a temporary UTF-8 file that
DuckDB reads and that is deleted after (`utf8_source`). Lines stay lines, so a line number
DuckDB gives for the copy is the original file's.
"""

from __future__ import annotations

import codecs
import gzip
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 1 << 20
WINDOWS_1252 = "cp1252"
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


class EncodingError(Exception):
    """A file in no encoding lawn reads; the message is one line naming file (and line)."""


@dataclass(frozen=True)
class Readable:
    """What DuckDB reads for a raw file: the file itself (UTF-8) or a UTF-8 copy of it."""

    path: Path
    encoding: str  # "utf-8", "utf-16-le", "utf-16-be" or "cp1252"
    warning: str = ""  # one line naming the original file, when the reader guessed


def open_bytes(path: Path) -> BinaryIO:
    """The file's bytes, decompressed if it is gzipped."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _line_of(path: Path, offset: int) -> int:
    """The 1-based line holding byte ``offset`` of the (decompressed) file: error path only."""
    newlines = 0
    with open_bytes(path) as handle:
        while offset > 0 and (chunk := handle.read(min(CHUNK_BYTES, offset))):
            newlines += chunk.count(b"\n")
            offset -= len(chunk)
    return newlines + 1


def _first_non_utf8(handle: BinaryIO) -> int | None:
    """The offset of the first byte that is not UTF-8 text, or None. An ASCII chunk (most
    of a feed) skips the decoder: `bytes.isascii` is a vectorised scan."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    consumed = 0
    pending = False  # the decoder holds the start of a character split across chunks
    while chunk := handle.read(CHUNK_BYTES):
        if pending or not chunk.isascii():
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return consumed - (len(exc.object) - len(chunk)) + exc.start
            pending = bool(decoder.getstate()[0])
        consumed += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:  # the file ends inside a character
        return consumed - len(exc.object) + exc.start
    return None


def detect_encoding(path: Path) -> tuple[str, int | None]:
    """The encoding to read ``path`` in, and for Windows-1252 the offset of the first byte that
    is not UTF-8. Raises `EncodingError` for UTF-32, for a UTF-8 byte order mark on bytes that
    are not UTF-8, and for NUL bytes at the start (UTF-16 without its byte order mark)."""
    with open_bytes(path) as handle:
        head = handle.read(4096)
        if head.startswith(_UTF32_BOMS):
            raise EncodingError(f"{path}: UTF-32 text is not read (save it as UTF-8)")
        if head.startswith(codecs.BOM_UTF16_LE):
            return "utf-16-le", None
        if head.startswith(codecs.BOM_UTF16_BE):
            return "utf-16-be", None
        if b"\x00" in head:
            line = head[: head.index(b"\x00")].count(b"\n") + 1
            raise EncodingError(
                f"{path}: line {line}: holds NUL bytes (UTF-16 text without a byte order mark? "
                "save it as UTF-8)"
            )
        handle.seek(0)
        offset = _first_non_utf8(handle)
    if offset is None:
        return "utf-8", None
    if head.startswith(codecs.BOM_UTF8):
        raise EncodingError(
            f"{path}: line {_line_of(path, offset)}: not UTF-8 text, though the file starts with "
            "UTF-8's byte order mark"
        )
    return WINDOWS_1252, offset


def _transcode_lines(path: Path, target: BinaryIO) -> tuple[int, int]:
    """Write ``path`` to ``target`` as UTF-8, line by line: a UTF-8 line as it is, any other
    decoded from Windows-1252. Returns (lines read as Windows-1252, the first one's number);
    a byte Windows-1252 lacks is one line naming the file and line."""
    count = first = 0
    with open_bytes(path) as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                try:
                    line = line.decode(WINDOWS_1252).encode("utf-8")
                except UnicodeDecodeError as exc:
                    raise EncodingError(
                        f"{path}: line {number}: byte 0x{exc.object[exc.start]:02X} is not "
                        "Windows-1252 (nor is the line UTF-8)"
                    ) from None
                count, first = count + 1, first or number
            target.write(line)
    return count, first


def _transcode(path: Path, encoding: str, target: BinaryIO) -> None:
    """Write ``path`` decoded from ``encoding`` (UTF-16) to ``target`` as UTF-8, chunk by
    chunk; a character that does not decode is one line naming the file and line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    newlines = 0
    with open_bytes(path) as handle:
        if encoding.startswith("utf-16"):
            handle.read(len(codecs.BOM_UTF16))  # the byte order mark, not text
        while True:
            chunk = handle.read(CHUNK_BYTES)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                done = exc.object[: exc.start]
                line = newlines + done.decode(encoding, "replace").count("\n") + 1
                what = "not UTF-16 text (an odd number of bytes or a lone surrogate)"
                raise EncodingError(f"{path}: line {line}: {what}") from None
            newlines += text.count("\n")
            target.write(text.encode("utf-8"))
            if not chunk:
                return


@contextmanager
def utf8_source(path: Path, suffix: str = ".csv") -> Iterator[Readable]:
    """``path`` as DuckDB should read it: itself if it is UTF-8, else a temporary UTF-8 copy
    (deleted when the block ends). Raises `EncodingError` for a file in no encoding read, and
    lets a read error of the file (OSError, a corrupt gzip stream) through to the caller."""
    encoding, _ = detect_encoding(path)
    if encoding == "utf-8":
        yield Readable(path, encoding)
        return
    warning = ""
    handle, name = tempfile.mkstemp(prefix="lawn-raw-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as target:
            if encoding == WINDOWS_1252:
                count, first = _transcode_lines(path, target)
                warning = (
                    f"{path}: read as Windows-1252 on the {count} line(s) that are not UTF-8 text "
                    f"(the first: line {first}); the others as UTF-8"
                )
            else:
                _transcode(path, encoding, target)
        yield Readable(Path(name), encoding, warning)
    finally:
        Path(name).unlink(missing_ok=True)
