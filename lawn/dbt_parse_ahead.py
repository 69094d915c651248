"""dbt parses the project while lawn lands the raw files.

A build starts by parsing the project: a full parse when the target folder's stored parse was
made for another warehouse path, other vars or another project (5 s at the benchmark's 10M full
build, where `Unable to do partial parsing because profile has changed`; 10 s on a loaded
machine for the demo's nightly), about 1 s when it is current. dbt's parse needs no warehouse
connection, so :func:`parsing_meanwhile` runs it on a thread while the caller gates and lands
the raw files (DuckDB's threads, and Great Expectations, whose import alone takes about 3 s),
and the build that follows finds a current ``partial_parse.msgpack``.

The parse runs with the very invocation the build gets (lawn/dbt_runner.py ``dbt_invocation``:
warehouse path, vars, replayed day, environment and folder, so dbt's own check of the stored
parse accepts it) but writes into a scratch folder of its own, started from the target
folder's stored parse; only a parse that succeeded, after a landing that succeeded, replaces
the target folder's file (an atomic rename). A refused raw file does not wait for it: the
parse is stopped (lawn/dbt_forkserver.py ``abandon``), the error is printed at once, and the
scratch folder goes when lawn exits. Nothing is reported from the parse: a project dbt
cannot parse fails the build with dbt's own message. Inside ``in_process`` (the Spark
commands, dbt in this process) nothing runs ahead: dbt in this process rewrites its
environment and folder."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import datetime as dt
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from lawn import dbt_forkserver
from lawn.dbt_parse_cache import PARSE_FILE
from lawn.dbt_runner import dbt_invocation, execute, in_process_now, target_folder
from lawn.paths import REPO_ROOT

_FOLDER_FLAGS = ("--target-path", "--log-path")


def _into(command: Sequence[str], folder: Path) -> list[str]:
    """``command`` with its target and log folder replaced by ``folder``."""
    kept, skip = [], False
    for part in command:
        if skip:
            skip = False
            continue
        if part in _FOLDER_FLAGS:
            skip = True
            continue
        kept.append(part)
    return [*kept, "--target-path", str(folder), "--log-path", str(folder)]


def _publish(parsed: Path, target: Path) -> None:
    """Put ``parsed`` in ``target`` as its stored parse, atomically (a parallel run of dbt reads
    the old file or the new one, never half of one)."""
    target.mkdir(parents=True, exist_ok=True)
    staged = target / f".{PARSE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        shutil.copyfile(parsed, staged)
        os.replace(staged, target / PARSE_FILE)
    finally:
        staged.unlink(missing_ok=True)


@contextlib.contextmanager
def parsing_meanwhile(
    db_path: Path | None,
    *,
    args: Sequence[str] = (),
    dbt_vars: Mapping[str, object] | None = None,
    as_of: dt.date | None = None,
    target_path: Path | None = None,
    project_dir: Path = REPO_ROOT,
) -> Iterator[None]:
    """Within the block, ``dbt parse`` runs on a thread as the build after the block will run
    (warehouse, ``args`` such as ``--target postgres``, vars, replayed day, target folder);
    leaving the block normally waits for it and stores its parse in the target folder."""
    if in_process_now():
        yield
        return
    invocation = dbt_invocation(
        ["parse", *args], db_path, dbt_vars=dbt_vars, as_of=as_of, target_path=target_path,
        project_dir=project_dir,
    )  # fmt: skip
    target = target_folder(project_dir, target_path)
    scratch = Path(tempfile.mkdtemp(prefix="lawn-dbt-parse-"))
    with contextlib.suppress(OSError):  # dbt checks it: a current one makes the parse ~1 s
        shutil.copyfile(target / PARSE_FILE, scratch / PARSE_FILE)
    parse = dataclasses.replace(invocation, command=_into(invocation.command, scratch))
    outcome: list[subprocess.CompletedProcess] = []
    abandoned = threading.Event()

    def run() -> None:
        with contextlib.suppress(Exception):
            if not abandoned.is_set():
                outcome.append(execute(parse, capture=True))

    if dbt_forkserver.enabled():
        # from this thread: a server the parse thread started would die when that thread ends
        dbt_forkserver.start(parse.env)
    thread = threading.Thread(target=run, name="lawn-dbt-parse", daemon=True)
    thread.start()
    try:
        yield
    except BaseException:
        # a refused file (or Ctrl-C): said at once, without waiting for an optimisation; the
        # parse is stopped (this process's exit would wait for the fork server's run)
        abandoned.set()
        if thread.is_alive():  # a finished parse leaves the server (and its imports) to later runs
            dbt_forkserver.abandon()
        atexit.register(shutil.rmtree, scratch, True)
        raise
    thread.join()
    try:
        if outcome and outcome[0].returncode == 0 and (scratch / PARSE_FILE).is_file():
            with contextlib.suppress(OSError):
                _publish(scratch / PARSE_FILE, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
