"""dbt runs that do not pay for importing dbt every time.

A dbt run in a child process spends about 2.3 s of CPU importing dbt (and its adapter) before it
reads a single file: on a small build that is a third of its time, and the nightly run, the
benchmark and the test suite start dbt hundreds of times. The fork server is one helper process
per lawn process (`python -m lawn.dbt_forkserver`) that imports dbt once and then forks a copy of
itself for each run: the copy starts with dbt already imported, runs the invocation (the same
arguments, environment and working directory a child would get) and exits with dbt's exit code.
Every run is still a process of its own, so nothing of one run's state (dbt's flags, the adapter's
connections, DuckDB's file handles) reaches the next.

Death with the parent holds as for a plain child (lawn/warehouse.py ``die_with_parent``): the
server dies with the lawn process that started it, and each forked run with the server, so a
killed `lawn nightly` leaves no dbt writing after its writer lock is gone.

The protocol is one JSON line per run on the server's standard input (``args``, ``env``, ``cwd``
and the two files the run's output goes to) and one line back with the exit code. Anything that
goes wrong with the server itself (it died, a broken pipe, a garbled answer) makes the caller run
that invocation as a plain child instead (lawn/dbt_runner.py), so the server changes how long a
run takes, never what it does. ``LAWN_DBT_FORKSERVER=0`` turns it off.

Two more per-process caches are filled in the server, so that each fork starts with them: the
JSON schemas dbt validates the project, profile and selectors against (:func:`warm_schemas`,
before the first fork), and the compiled Jinja template of every macro a run has compiled
(:func:`report_templates` in the run, :func:`learn_templates` in the server after it answered):
dbt_common keys its template cache by the macro's text, so a later run of the same macros
compiles none of them again, and an edited macro is simply a new text."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

ENV_SWITCH = "LAWN_DBT_FORKSERVER"
PRELOAD = ("dbt.cli.main", "dbt.adapters.duckdb", "dbt.task.build", "dbt.parser.manifest", "lawn.dbt_runner")


class ServerUnavailable(RuntimeError):
    """The fork server could not run this invocation; the caller runs a plain child."""


def enabled() -> bool:
    return sys.platform.startswith("linux") and os.environ.get(ENV_SWITCH, "1").strip() != "0"


class _Client:
    """The parent's handle on its server: started on first use, one run at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.owner = 0  # the pid that started it: a forked lawn process starts its own

    def _start(self, env: Mapping[str, str]) -> subprocess.Popen:
        from lawn.paths import REPO_ROOT
        from lawn.warehouse import die_with_parent

        return subprocess.Popen(
            [sys.executable, "-m", "lawn.dbt_forkserver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(env),
            cwd=REPO_ROOT,  # `-m lawn...` imports this checkout's lawn, wherever the caller stands
            text=True,
            preexec_fn=die_with_parent,
        )

    def ensure_started(self, env: Mapping[str, str]) -> None:
        """Start the server now, in the calling thread, unless it runs. A server started by
        a thread dies with that thread: Linux's parent-death signal (``die_with_parent``)
        follows the thread that forked the child, not the process, so the server a parse
        thread started was killed when the parse ended (and the next run paid for a new one's
        imports). A fork from that thread is also the likely source of logging's "cannot
        release un-acquired lock" traceback a probe saw (2026-12-07; not reproduced on demand)."""
        with self.lock:
            self._start_unless_running(env)

    def _start_unless_running(self, env: Mapping[str, str]) -> None:
        """Start this process's server unless it runs (the caller holds ``self.lock``)."""
        if self.process is None or self.owner != os.getpid() or self.process.poll() is not None:
            self.process, self.owner = self._start(env), os.getpid()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and self.owner == os.getpid():
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                process.kill()
                process.wait(timeout=5)

    def run(self, args: Sequence[str], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess:
        with self.lock, tempfile.TemporaryDirectory(prefix="lawn-dbt-") as folder:
            out, err = Path(folder) / "stdout", Path(folder) / "stderr"
            request = {
                "args": list(args),
                "env": dict(env),
                "cwd": str(cwd),
                "out": str(out),
                "err": str(err),
                "templates": str(Path(folder) / "templates.json"),
            }
            try:
                self._start_unless_running(env)
                process = self.process
                assert process.stdin is not None and process.stdout is not None
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
            except OSError as exc:  # not started, or gone before it read the request: nothing ran
                self.stop()
                raise ServerUnavailable(f"dbt fork server: {type(exc).__name__}") from exc
            answer: dict = {}
            try:
                answer = json.loads(process.stdout.readline() or "{}")
                code = int(answer["code"])
            except (OSError, ValueError, KeyError, TypeError):
                # the server died with the run under way: a failed run (its output so far),
                # never a second one behind the caller's back
                self.stop()
                code = 2
                with err.open("a") as stream:
                    stream.write("error: the dbt fork server died during this run (lawn/dbt_forkserver.py)\n")
            if answer.get("started") is False:
                raise ServerUnavailable("dbt fork server could not fork")
            return subprocess.CompletedProcess(list(args), code, _read(out), _read(err))

    def close(self) -> None:
        """At exit: end the server by closing its input and wait for it, so that its runs'
        CPU time and peak memory count among this process's children (scripts/benchmark.py)."""
        process = self.process
        if process is not None and self.owner == os.getpid():
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                if process.stdin is not None:
                    process.stdin.close()
                process.wait(timeout=10)
        self.stop()  # still running after that: killed


def _read(path: Path) -> str:
    """What the run printed there; nothing when it never got as far as opening the file."""
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


_CLIENT = _Client()
atexit.register(_CLIENT.close)


def abandon() -> None:
    """Kill the server and the run under way, whose outcome nobody will read (a parse run
    ahead of a build that will not happen, lawn/dbt_parse_ahead.py); a later run starts a new
    server. Without it, this process's exit waits for the run (``close``)."""
    _CLIENT.stop()


def start(env: Mapping[str, str]) -> None:
    """Start this process's server from the calling thread (the main one: see
    ``_Client.ensure_started``) before a thread sends it runs; a server that cannot start is
    left to the run, which falls back to a plain child."""
    with contextlib.suppress(OSError):
        _CLIENT.ensure_started(env)


def run(args: Sequence[str], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """``dbt <args>`` in a fork of the server: exit code 0 (ok), 1 (failures) or 2 (an error),
    as dbt's command line gives them, and what it printed. Raises ServerUnavailable when the
    server cannot run it (the caller then starts a plain child)."""
    return _CLIENT.run(args, env, cwd)


# ---- the server side (python -m lawn.dbt_forkserver) ----


def _child(request: dict) -> int:
    """In the forked copy: become the invocation's process, run dbt, return its exit code."""
    import signal

    from lawn.warehouse import die_with_parent

    die_with_parent()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, request["out"]), (2, request["err"])):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(handle, fd)
        os.close(handle)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    from dbt.cli.main import dbtRunner

    from lawn.dbt_runner import exit_code

    inherited = frozenset(_templates())
    try:
        code, problem = exit_code(dbtRunner().invoke(request["args"]))
        sys.stderr.write(problem)
    except Exception as exc:  # reported as dbt's own error exit would be
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        code = 2
    if request.get("templates"):
        report_templates(request["templates"], inherited)
    return code


# the classes every dbt run validates a file or the profile against: dbt builds each one's JSON
# schema on first use (mashumaro compiles a helper class per field default), once per process
SCHEMA_CLASSES = (
    ("dbt.contracts.project", ("ProjectFlags", "ProfileConfig", "Project", "PackageConfig", "Configuration")),
    ("dbt.contracts.selection", ("SelectorFile",)),
    ("dbt.artifacts.resources.v1.config", ("Hook",)),
    ("dbt.adapters.duckdb.credentials", ("DuckDBCredentials",)),
)


def warm_schemas() -> None:
    """Build, once in the server, the JSON schemas above, which every dbt run would build again
    (about 0.8 s of CPU per run). A fork inherits them; a failure leaves the cache as it was."""
    import importlib

    for module_name, names in SCHEMA_CLASSES:
        with contextlib.suppress(Exception):
            module = importlib.import_module(module_name)
            for name in names:
                getattr(module, name).json_schema()


def _templates() -> dict:
    from dbt_common.clients import jinja

    return jinja.template_cache.file_cache


def report_templates(path: str, inherited: frozenset[str]) -> None:
    """In the run, after dbt: the text of every macro it compiled that the server had not
    (dbt_common's ``template_cache`` is keyed by the macro's own text), for :func:`learn_templates`."""
    with contextlib.suppress(Exception):
        texts = [text for text in _templates() if text not in inherited]
        Path(path).write_text(json.dumps(texts))


def learn_templates(reported: str) -> None:
    """In the server, between runs: compile the macros a run reported (``reported``: the JSON
    list :func:`report_templates` wrote), so that later forks find
    them compiled (dbt compiles each macro a run calls, in every run: about 1.5 s of CPU for a
    small build here). The cache's key is the macro's text, and the template is compiled from
    that text alone, so a template made here is exactly the one the run would make; a macro
    edited later has another text and is compiled by its run as before."""
    with contextlib.suppress(Exception):
        from dbt_common.clients import jinja

        for text in json.loads(reported):
            if isinstance(text, str):
                jinja.template_cache.get_node_template(_MacroText(text))


class _MacroText:
    """What dbt_common's template cache reads of a macro: its text (and a name for errors)."""

    def __init__(self, macro_sql: str) -> None:
        self.macro_sql = macro_sql
        self.name = ""


def serve() -> int:
    """Read requests from standard input until it closes; answer each with its exit code."""
    import importlib
    import signal

    # Ctrl-C reaches the whole process group: the run under way gets it (as dbt would), the
    # server stays to report how that run ended
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = os.fdopen(os.dup(0), "r")
    answers = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # a stray print can never garble the answers
    for module in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    from lawn.dbt_main import install_patches

    install_patches()  # lawn/dbt_artifacts.py, lawn/dbt_schedule.py, lawn/dbt_jinja_cache.py
    warm_schemas()
    import gc

    gc.collect()
    gc.freeze()  # the imported modules stay shared with every fork instead of being copied
    for line in requests:
        request = json.loads(line)
        try:
            pid = os.fork()
        except OSError:
            answers.write(json.dumps({"code": -1, "started": False}) + "\n")
            answers.flush()
            continue
        if pid == 0:  # the run: leaves through a normal interpreter exit (atexit, flushes)
            requests.close()
            answers.close()
            code = 2
            try:
                code = _child(request)
            finally:
                raise SystemExit(code)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        reported = ""
        if request.get("templates"):  # read before the answer: the caller then removes the folder
            with contextlib.suppress(OSError):
                reported = Path(request["templates"]).read_text()
        answers.write(json.dumps({"code": code}) + "\n")
        answers.flush()
        if reported:  # after the answer: the caller goes on while the server compiles
            learn_templates(reported)
            gc.freeze()  # the new templates too are shared with the next forks
    return 0


if __name__ == "__main__":
    sys.exit(serve())
