"""Small shared helpers for reading and writing the DuckDB warehouse from Python: the
landing-table check, the one-writer lock and the up-front health check of the file."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import math
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, TextIO

import duckdb

CHECK_MEMORY_LIMIT = "1GB"  # DuckDB's cache while the full health check reads every table
# the main header and the two database headers before the first block of a DuckDB file
HEADER_BYTES = 3 * 4096
# LAWN_WAREHOUSE_CHECK=full: the health check reads every block (9 s on 1M events), not only
# the header, the catalog and the file's length
DEEP_CHECK_ENV = "LAWN_WAREHOUSE_CHECK"


# profiles.yml's memory limit for dbt's connection comes from the environment (this variable,
# this default); lawn's own connections use it too (lawn/warehouse_io.py)
MEMORY_LIMIT_VARIABLE = "LAWN_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "4GB"


def check_dbt_duckdb_settings(env: dict[str, str]) -> None:
    """Raise a one-line WarehouseError (exit 2) naming the variable when DuckDB cannot read the
    memory limit dbt's connection would be given: dbt itself stops with a traceback at its
    first connection. The value as the profile reads it (``env_var(variable, default)``)."""
    value = env.get(MEMORY_LIMIT_VARIABLE, DEFAULT_MEMORY_LIMIT)
    with duckdb.connect() as con:
        try:
            con.execute(f"set memory_limit = '{value.replace(chr(39), '')}'")
        except duckdb.Error:
            raise WarehouseError(
                f"{MEMORY_LIMIT_VARIABLE}={value!r} is not a DuckDB size (e.g. 4GB, 500MB)", exit_code=2
            ) from None


class MissingTableError(ValueError):
    """A table Python writes to does not exist yet (no build has run)."""


class WarehouseError(RuntimeError):
    """The warehouse cannot be used: missing folder, read-only, corrupt or in use. The
    message is one line; ``exit_code`` is 2 for a bad path given by the user, 1 otherwise."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _Executes(Protocol):
    def execute(self, sql: str, params: Any = ..., /) -> Any: ...


def table_exists(con: _Executes, schema: str, table: str) -> bool:
    """Whether schema.table is a table or view: the one catalog lookup every Python reader and
    writer uses (a DuckDB connection, or a lawn.warehouse_io.Warehouse on either engine)."""
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


def relation_exists(con: _Executes, relation: str) -> bool:
    """:func:`table_exists` for a ``schema.table`` name."""
    schema, table = relation.split(".", 1)
    return table_exists(con, schema, table)


def require_landing_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    """The landing tables are created by the dbt on-run-start hook (create_landing_tables)."""
    if not table_exists(con, schema, table):
        raise MissingTableError(f"{schema}.{table} does not exist: run `lawn build` first (it creates it)")


def first_line(exc: BaseException) -> str:
    """The first line of an exception message (DuckDB's carry a multi-line hint)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# a DuckDB file's main header starts with an 8-byte checksum, then the magic bytes "DUCK"
DUCKDB_MAGIC = (8, b"DUCK")


def is_duckdb_file(db_path: Path) -> bool:
    """Whether the existing file ``db_path`` is a DuckDB database file by its first bytes: a
    CSV, a text file, another database or an empty file (DuckDB 2 refuses to open one: "exists,
    but it is not a valid DuckDB database file") named as the warehouse is bad input, told
    apart from a damaged warehouse (a failed step)."""
    if not Path(db_path).is_file():  # a folder (or a device) given as the warehouse
        return False
    offset, magic = DUCKDB_MAGIC
    try:
        with open(db_path, "rb") as handle:
            head = handle.read(offset + len(magic))
    except OSError:  # unreadable: DuckDB's own open says why
        return True
    return head[offset:] == magic


def check_warehouse(
    db_path: Path, write: bool = True, must_exist: bool = False, open_check: bool = True
) -> None:
    """Fail fast, with one line, on a warehouse that cannot be used: its folder is missing,
    the file or folder is read-only (for a writing command), the file is not a DuckDB
    database or is damaged (a truncated file fails here, not half-way through a build), or
    another process has it open. ``open_check=False`` checks the path only (before taking the
    writer lock). The open check reads the header and
    the catalog and compares the file's length with the blocks the database counts (a file cut
    short fails); a damaged block inside the file is found when it is read (DuckDB checks every
    block's checksum), or up front with LAWN_WAREHOUSE_CHECK=full (every block is read)."""
    db_path = Path(db_path)
    folder = db_path.resolve().parent
    if not folder.is_dir():
        raise WarehouseError(f"{db_path}: folder {folder} does not exist", exit_code=2)
    if not db_path.exists():
        if must_exist:
            raise WarehouseError(f"{db_path}: no such warehouse; run `lawn build` first", exit_code=2)
        if write and not os.access(folder, os.W_OK):
            raise WarehouseError(f"{db_path}: folder {folder} is read-only", exit_code=2)
        return
    if write and not (os.access(db_path, os.W_OK) and os.access(folder, os.W_OK)):
        what = "file" if not os.access(db_path, os.W_OK) else f"folder {folder}"
        raise WarehouseError(f"{db_path}: the warehouse {what} is read-only", exit_code=2)
    if db_path.is_file() and db_path.stat().st_size == 0:
        raise WarehouseError(
            f"{db_path}: an empty file (0 bytes), not a DuckDB warehouse; remove it to build a new "
            "one there, or check --db or LAWN_DUCKDB_PATH",
            exit_code=2,
        )
    if not is_duckdb_file(db_path):
        raise WarehouseError(
            f"{db_path}: not a DuckDB warehouse (the file does not start with DuckDB's header); "
            "check --db or LAWN_DUCKDB_PATH",
            exit_code=2,
        )
    if not open_check:
        return
    try:
        with duckdb.connect(str(db_path), read_only=True) as con:
            # opening reads the header and the catalog (a foreign file, or one cut short before
            # its metadata, fails here); the file must then have room for every block in use.
            # Not every block counted: DuckDB truncates free blocks at the file's end, so a
            # healthy file can be shorter than header + total blocks (seen after deletes)
            size = con.execute("pragma database_size").fetchall()[0]
            block_size, used_blocks = int(size[2]), int(size[4])
            needed = HEADER_BYTES + block_size * used_blocks
            if db_path.stat().st_size < needed:
                raise WarehouseError(
                    f"{db_path}: not a readable DuckDB warehouse, damaged (the file has "
                    f"{db_path.stat().st_size:,} bytes; its {used_blocks:,} blocks in use need {needed:,})"
                )
            if os.environ.get(DEEP_CHECK_ENV, "") == "full":
                _read_every_block(con)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseError(f"{db_path}: in use by another process ({first_line(exc)})") from exc
        raise WarehouseError(f"{db_path}: not a readable DuckDB warehouse ({first_line(exc)})") from exc
    except duckdb.Error as exc:
        raise WarehouseError(
            f"{db_path}: not a readable DuckDB warehouse, damaged ({first_line(exc)})"
        ) from exc


def _read_every_block(con: duckdb.DuckDBPyConnection) -> None:
    """Read every column of every table (DuckDB checks each block's checksum as it reads)."""
    # reading every block would otherwise keep them all cached, up to DuckDB's default
    # limit of 80% of the machine's memory (19.9 GB on a 13 GB warehouse of 10M events)
    con.execute(f"set memory_limit = '{CHECK_MEMORY_LIMIT}'")
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
    ).fetchall()
    for schema, table in tables:  # reading every column touches every data block
        con.execute(f'select count(*), max(hash(t)) from "{schema}"."{table}" as t').fetchall()


def die_with_parent() -> None:
    """``preexec_fn`` for dbt: on Linux the child gets SIGKILL when its parent dies (even by
    SIGKILL), so an orphaned build never goes on writing to the warehouse after the parent's
    writer lock was released. Elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


def lock_path(db_path: Path) -> Path:
    return Path(f"{db_path}.lock")


# locks this process holds: path -> depth (a command that calls another writer re-enters)
_HELD: dict[str, int] = {}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(holder: dict) -> str:
    return (
        f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} since {holder.get('started_at', '?')} "
        f"({holder.get('command', '?')})"
    )


def _lock_note(handle: TextIO) -> dict:
    """The holder's note in the lock file: a JSON object with an integer pid, else {} (an
    empty, foreign or damaged file names no holder)."""
    handle.seek(0)
    try:
        note = json.loads(handle.read() or "{}")
    except json.JSONDecodeError:
        return {}
    if not isinstance(note, dict):
        return {}
    pid = note.get("pid")
    if pid is not None and not (isinstance(pid, int) and not isinstance(pid, bool) and 0 < pid < 2**31):
        note = {key: value for key, value in note.items() if key != "pid"}
    return note


@contextlib.contextmanager
def writer_lock(db_path: Path, command: str = "", wait_seconds: float = 0.0) -> Iterator[str]:
    """Hold ``<warehouse>.lock`` while writing: one writer (nightly, build, export, revert,
    scoring) at a time. The lock is an advisory ``flock``, which the kernel releases when the
    holder dies (even on SIGKILL), so a dead holder never blocks; its note (pid, host, start,
    command) is kept in the file to name the holder. Waits up to ``wait_seconds``, then raises
    WarehouseError naming the holder. Yields a note about a taken-over stale lock ("" if none).
    """
    if not (math.isfinite(wait_seconds) and wait_seconds >= 0):  # nan waited forever
        raise WarehouseError(f"--lock-wait must be a number of seconds >= 0, got {wait_seconds}", exit_code=2)
    path = lock_path(Path(db_path))
    key = str(path.resolve())
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield ""
        finally:
            _HELD[key] -= 1
        return
    try:
        # a note that is no UTF-8 text (a stray byte) is read as garbage, never an error
        handle = open(path, "a+", encoding="utf-8", errors="replace")  # noqa: SIM115 - held for the whole block
    except OSError as exc:
        raise WarehouseError(f"{path}: cannot create the writer lock ({exc.strerror})", exit_code=2) from exc
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _lock_note(handle)
                    raise WarehouseError(
                        f"{db_path} is locked by another lawn writer: {_describe(holder)}; "
                        f"try again when it has finished (lock file {path})"
                    ) from None
                time.sleep(0.5)
        previous = _lock_note(handle)
        note = ""
        if previous.get("pid"):  # its holder died without releasing it (the kernel did)
            gone = previous.get("host") != socket.gethostname() or not _pid_alive(previous["pid"])
            state = "that process is gone" if gone else "that pid now belongs to another process"
            note = f"took over a stale lock of {_describe(previous)}: {state}"
        handle.seek(0)
        handle.truncate()
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": started,
                  "command": command or " ".join(["lawn", *sys.argv[1:3]])}  # fmt: skip
        handle.write(json.dumps(holder))
        handle.flush()
        _HELD[key] = 1
        try:
            yield note
        finally:
            _HELD.pop(key, None)
            handle.seek(0)
            handle.truncate()  # released: an empty note means nobody holds it
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


@contextlib.contextmanager
def writing(db_path: Path, command: str, wait_seconds: float = 0.0, must_exist: bool = True) -> Iterator[str]:
    """What every writing command does: check the path, take the writer lock, then open the
    file to check it (after the lock: a running writer has the file open)."""
    check_warehouse(db_path, write=True, must_exist=must_exist, open_check=False)
    with writer_lock(db_path, command, wait_seconds) as note:
        check_warehouse(db_path, write=True, must_exist=must_exist)
        yield note
