"""The one way lawn launches dbt (`lawn build`, `lawn nightly`, the tests).

Every run gets the same things the same way: the project and profiles directory, the
warehouse in ``LAWN_DUCKDB_PATH``, ``--vars`` as JSON (a replayed day, ``as_of``, becomes the
var ``as_of_date`` of lawn/settings.py and makes a build a full refresh), optional ``--select``, private
``--target-path`` / ``--log-path``, an environment without the identity hash key (dbt must
never see it: lawn/identity_key.py installs it in the warehouse instead) and, on Linux, death
with its parent (lawn/warehouse.py), so no orphaned dbt writes after the writer lock is gone.
Installing the key and holding the lock stay with the caller. With ``LAWN_DBT_PARSE_CACHE`` set,
a private target folder starts from the stored parse of the same project and vars
(lawn/dbt_parse_cache.py), so dbt re-parses only what changed.

Inside :func:`in_process`, dbt runs in this process (dbt's ``dbtRunner``) instead of a child,
with the same arguments, environment (the identity key removed for the call) and working
directory: the Spark target's session method then starts one JVM for every dbt run of the
block instead of one per run (35-48 s each here, docs/spark.md).

Elsewhere a run whose output is captured (the nightly's builds, the tests) is a fork of a helper
that imported dbt once (lawn/dbt_forkserver.py): the same arguments, environment, folder and
exit code as a child of its own, without its ~2.3 s of imports; if the helper cannot take the
run, a plain child runs it. A plain child (``lawn build``'s runs among them) is
``python -m lawn.dbt_main``: dbt's command line with the same patches of dbt as the helper and
the in-process runs (lawn/dbt_artifacts.py, lawn/dbt_schedule.py).

:func:`execute` runs an invocation made by :func:`dbt_invocation` (lawn/dbt_parse_ahead.py
runs a parse while the raw files land)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lawn import dbt_forkserver, dbt_parse_cache, seed_tests
from lawn.identity_key import scrubbed_env
from lawn.paths import REPO_ROOT, dbt_command
from lawn.settings import as_of_vars
from lawn.warehouse import check_dbt_duckdb_settings, die_with_parent

# selectors.yml's default selector: everything but these. dbt drops a default selector when
# a run gives --exclude (lawn build does, for the seed tests it leaves out), so such a run
# adds the same exclusion itself (with_default_exclusion).
ON_DEMAND = "tag:on_demand"
_SELECTING = ("--select", "-s", "--selector", "--models", "-m", "--inline")


def with_default_exclusion(args: Sequence[str], select: Sequence[str] = ()) -> list[str]:
    """``args`` with ``ON_DEMAND`` added to its ``--exclude`` when nothing is selected: what
    dbt's default selector would leave out when no exclusion is given."""
    args = list(args)
    if "--exclude" not in args or select or any(flag in args for flag in _SELECTING):
        return args
    at = args.index("--exclude") + 1
    return [*args[:at], ON_DEMAND, *args[at:]]


def failure_lines(output: str) -> list[str]:
    """The lines of a dbt run's output that report a failed or erroring node (FAIL, ERROR),
    in order, without the terminal's colour codes: what a caller quotes in its one-line error."""
    plain = (re.sub(r"\x1b\[[0-9;]*m", "", line) for line in output.splitlines())
    return [line for line in plain if "FAIL" in line or "ERROR" in line]


@dataclass(frozen=True)
class DbtInvocation:
    command: list[str]
    env: dict[str, str]
    cwd: Path
    target_path: Path | None = None
    parse_key: str | None = None  # lawn/dbt_parse_cache.py's key for this run's parse


def dbt_invocation(
    args: Sequence[str],
    db_path: Path | None,
    *,
    select: Sequence[str] = (),
    dbt_vars: Mapping[str, object] | None = None,
    as_of: dt.date | None = None,
    target_path: Path | None = None,
    log_path: Path | None = None,
    project_dir: Path = REPO_ROOT,
    base_env: Mapping[str, str] | None = None,
) -> DbtInvocation:
    """The command line, environment and working directory of ``dbt <args>`` on ``db_path``.

    ``db_path`` None leaves ``LAWN_DUCKDB_PATH`` as it is (a project whose profile names its
    own file); ``base_env`` (default: this process's environment) loses the identity key
    variables; ``log_path`` defaults to ``target_path`` when only that is given. ``as_of``
    replays that day (var ``as_of_date``, over any in ``dbt_vars``); a replayed ``build`` or
    ``run`` is a full refresh (incremental tables may hold rows received after the day), and a
    replayed ``build`` runs no unit tests (they test code on their own rows, not the day's
    data, and CI runs them without a replay)."""
    args = with_default_exclusion(args, select)
    if as_of is not None and args[:1] in (["build"], ["run"]) and "--full-refresh" not in args:
        args.append("--full-refresh")
    if as_of is not None and args[:1] == ["build"] and "unit_test" not in args:
        args += ["--exclude-resource-type", "unit_test"]
    command = [*dbt_command(), *args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    if select:
        command += ["--select", *select]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    if log_path is not None or target_path is not None:
        command += ["--log-path", str(log_path if log_path is not None else target_path)]
    all_vars = {**(dbt_vars or {}), **as_of_vars(as_of)}
    if all_vars:
        command += ["--vars", json.dumps(all_vars)]
    env = scrubbed_env(dict(os.environ if base_env is None else base_env))
    if _target(command) == "dev":  # the DuckDB output of profiles.yml
        check_dbt_duckdb_settings(env)
    if db_path is not None:
        # absolute: dbt runs in the project's folder (or the warehouse's), so a path given
        # relative to the caller's folder would name another file there
        env["LAWN_DUCKDB_PATH"] = str(Path(db_path).absolute())
    cwd, parse_key = project_dir, None
    parse_target = target_path if target_path is not None else env.get("DBT_TARGET_PATH")
    if parse_target and dbt_parse_cache.cache_dir() is not None:
        parse_target = Path(parse_target)
        warehouse = Path(db_path).resolve() if db_path is not None else None
        if warehouse is not None and warehouse.parent.is_dir():
            # dbt rejects a stored parse made with other profile values, the warehouse path
            # among them: given relative to its own folder, every file of one name matches
            cwd, env["LAWN_DUCKDB_PATH"] = warehouse.parent, warehouse.name
        parse_key = dbt_parse_cache.cache_key(project_dir, all_vars, args, env.get("LAWN_DUCKDB_PATH", ""))
        dbt_parse_cache.seed(parse_target, parse_key)
    return DbtInvocation(command, env, cwd, parse_target or None, parse_key)


def _target(command: Sequence[str]) -> str | None:
    """The profile output a dbt command line names (``--target``), else the default ``dev``."""
    for flag in ("--target", "-t"):
        if flag in command:
            at = list(command).index(flag) + 1
            return command[at] if at < len(command) else None
    return "dev"


_IN_PROCESS = {"on": False}


@contextlib.contextmanager
def in_process() -> Iterator[None]:
    """Within the block, :func:`run_dbt` runs dbt in this process (one Spark JVM for all)."""
    before = _IN_PROCESS["on"]
    _IN_PROCESS["on"] = True
    try:
        yield
    finally:
        _IN_PROCESS["on"] = before


def _run_in_process(invocation: DbtInvocation, capture: bool) -> subprocess.CompletedProcess:
    """``invocation`` through ``dbtRunner`` here: its environment and working directory for the
    call (then this process's again); exit code as dbt's CLI gives it (0 ok, 1 failures, 2 an
    error); with ``capture`` what dbt printed, as a child's stdout."""
    from dbt.cli.main import dbtRunner

    from lawn.dbt_main import install_patches

    install_patches()
    args = invocation.command[len(dbt_command()) :]
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(invocation.env)
    try:
        os.chdir(invocation.cwd)
        with contextlib.ExitStack() as stack:
            if capture:
                stack.enter_context(contextlib.redirect_stdout(out))
                stack.enter_context(contextlib.redirect_stderr(err))
            result = dbtRunner().invoke(args)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    code, problem = exit_code(result)
    err.write(problem)
    return subprocess.CompletedProcess(invocation.command, code, out.getvalue(), err.getvalue())


def exit_code(result: object) -> tuple[int, str]:
    """A ``dbtRunner`` result as dbt's command line ends: exit code 0 (ok), 1 (failures) or 2
    (an error), and the error's line for stderr ("" without one)."""
    exception = getattr(result, "exception", None)
    code = 0 if getattr(result, "success", False) else (2 if exception is not None else 1)
    return code, (f"{type(exception).__name__}: {exception}\n" if exception is not None else "")


def keep_parse(invocation: DbtInvocation) -> None:
    """After the run: store its parse for the next fresh target folder (lawn/dbt_parse_cache.py)."""
    if invocation.target_path is not None and invocation.parse_key is not None:
        dbt_parse_cache.keep(Path(invocation.target_path), invocation.parse_key)


def target_folder(project_dir: Path, target_path: Path | str | None = None) -> Path:
    """Where dbt writes its artefacts: ``target_path``, else DBT_TARGET_PATH, else target/
    (a relative folder is under the project)."""
    explicit = target_path if target_path is not None else os.environ.get("DBT_TARGET_PATH")
    folder = Path(explicit) if explicit else project_dir / "target"
    return folder if folder.is_absolute() else project_dir / folder


def in_process_now() -> bool:
    """Whether :func:`run_dbt` runs dbt in this process now (inside :func:`in_process`)."""
    return _IN_PROCESS["on"]


def execute(invocation: DbtInvocation, capture: bool = True) -> subprocess.CompletedProcess:
    """Run ``invocation`` and wait for it: in this process inside :func:`in_process`, else a
    fork of the helper when the output is captured, else (or when the helper cannot take
    it) a plain child, which dies with this process."""
    result = None
    if _IN_PROCESS["on"]:
        result = _run_in_process(invocation, capture)
    elif capture and dbt_forkserver.enabled():
        with contextlib.suppress(dbt_forkserver.ServerUnavailable):
            result = dbt_forkserver.run(
                invocation.command[len(dbt_command()) :], invocation.env, invocation.cwd
            )
    if result is None:
        # dbt's command line with lawn's patches of dbt (lawn/dbt_main.py)
        result = subprocess.run(
            [sys.executable, "-m", "lawn.dbt_main", *invocation.command[len(dbt_command()) :]],
            env=invocation.env,
            cwd=invocation.cwd,
            capture_output=capture,
            text=True,
            preexec_fn=die_with_parent,
        )
    return result


def run_dbt(
    args: Sequence[str],
    db_path: Path | None,
    *,
    capture: bool = True,
    select: Sequence[str] = (),
    dbt_vars: Mapping[str, object] | None = None,
    as_of: dt.date | None = None,
    target_path: Path | None = None,
    log_path: Path | None = None,
    project_dir: Path = REPO_ROOT,
    reuse_seed_tests: bool = False,
) -> subprocess.CompletedProcess:
    """Run ``dbt <args>`` on ``db_path`` (see :func:`dbt_invocation`) and wait for it; with
    ``capture`` its output is returned as text, else it goes to this process's terminal.
    With ``reuse_seed_tests``, a build leaves out the data tests on the seeds that passed
    under the same project, vars and target, and records them after (lawn/seed_tests.py);
    the result's ``seed_tests_left_out`` says how many (0 without).
    Never raises on a non-zero exit: the caller decides what a failure means."""
    plan = None
    if reuse_seed_tests and list(args[:1]) == ["build"]:
        folder = target_folder(project_dir, target_path)
        all_vars = {**(dbt_vars or {}), **as_of_vars(as_of)}
        plan = seed_tests.plan(args, all_vars, project_dir, folder, everything=as_of is not None)
        args = [*args, *seed_tests.exclude_args(plan)]
    invocation = dbt_invocation(
        args,
        db_path,
        select=select,
        dbt_vars=dbt_vars,
        as_of=as_of,
        target_path=target_path,
        log_path=log_path,
        project_dir=project_dir,
    )
    result = execute(invocation, capture)
    keep_parse(invocation)
    result.seed_tests_left_out = 0  # type: ignore[attr-defined]
    if plan is not None:
        seed_tests.record(plan)
        result.seed_tests_left_out = len(plan.skipped)  # type: ignore[attr-defined]
    return result
