"""lawn/dbt_forkserver.py: a dbt run forked from a server that imported dbt once gives what a
plain child gives (exit code, output, the invocation's own environment and folder), the identity
key never reaches the server, a dead server costs a restart (never a second run of the same
invocation), and the server dies with the process that started it."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lawn import dbt_forkserver
from lawn.dbt_runner import run_dbt
from lawn.identity_key import ENV_KEY

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server is Linux-only")


def _both(
    monkeypatch, args: list[str], db: Path, target: Path, **kwargs
) -> dict[str, subprocess.CompletedProcess]:
    """``args`` once through the fork server and once as a plain child, same target folder."""
    done = {}
    for mode in ("1", "0"):
        monkeypatch.setenv(dbt_forkserver.ENV_SWITCH, mode)
        done[mode] = run_dbt(args, db, target_path=target, **kwargs)
    return done


def test_a_forked_run_prints_and_exits_as_a_plain_child(monkeypatch, tmp_path):
    listing = ["ls", "--select", "+fct_mrr", "--resource-type", "model", "--output", "name"]
    done = _both(monkeypatch, listing, tmp_path / "w.duckdb", tmp_path / "t")
    assert done["1"].returncode == done["0"].returncode == 0
    names = [line for line in done["1"].stdout.splitlines() if line and " " not in line.strip()]
    assert "fct_mrr" in names and len(names) > 3  # the mart and its parents
    assert names == [line for line in done["0"].stdout.splitlines() if line and " " not in line.strip()]
    # a macro that does not exist: dbt's own error exit, the same from both
    missing = _both(
        monkeypatch, ["run-operation", "no_such_macro_here"], tmp_path / "w.duckdb", tmp_path / "t"
    )
    assert missing["1"].returncode == missing["0"].returncode != 0
    assert "no_such_macro_here" in missing["1"].stdout + missing["1"].stderr


def test_each_run_gets_its_own_environment_and_the_server_never_the_key(monkeypatch, tmp_path):
    monkeypatch.setenv(dbt_forkserver.ENV_SWITCH, "1")
    monkeypatch.setenv(ENV_KEY, "fork-server-canary-key")
    dbt_forkserver._CLIENT.stop()  # the next run starts a server in this environment
    seen = []
    for probe in ("first-value", "second-value"):
        monkeypatch.setenv("LAWN_FORK_PROBE", probe)
        sql = (
            "select '{{ env_var(\"LAWN_FORK_PROBE\") }}' as probe, '{{ env_var(\""
            + ENV_KEY
            + '", "none") }}\' as k'
        )
        done = run_dbt(["show", "--inline", sql], tmp_path / "w.duckdb", target_path=tmp_path / "t")
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        seen.append(done.stdout)
    assert "first-value" in seen[0] and "second-value" in seen[1] and "first-value" not in seen[1]
    assert "fork-server-canary-key" not in "".join(seen) and "none" in seen[0]  # dbt never sees it
    server = dbt_forkserver._CLIENT.process
    assert server is not None and server.poll() is None
    environ = Path(f"/proc/{server.pid}/environ").read_bytes()
    assert b"fork-server-canary-key" not in environ


def test_a_server_killed_between_runs_is_started_again(monkeypatch, tmp_path):
    monkeypatch.setenv(dbt_forkserver.ENV_SWITCH, "1")
    args = ["ls", "--select", "fct_mrr", "--resource-type", "model", "--output", "name"]
    assert run_dbt(args, tmp_path / "w.duckdb", target_path=tmp_path / "t").returncode == 0
    first = dbt_forkserver._CLIENT.process
    assert first is not None
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    again = run_dbt(args, tmp_path / "w.duckdb", target_path=tmp_path / "t")
    assert again.returncode == 0 and "fct_mrr" in again.stdout
    assert dbt_forkserver._CLIENT.process is not None and dbt_forkserver._CLIENT.process.pid != first.pid


def test_a_server_that_dies_during_a_run_fails_that_run_and_never_runs_it_twice(monkeypatch, tmp_path):
    """A stand-in server that records the request, then dies without answering: the run is a
    failure (exit 2, said why), and no plain child runs the invocation behind the caller's back."""
    record = tmp_path / "requests.txt"
    stand_in = textwrap.dedent(f"""
        import sys
        line = sys.stdin.readline()
        open({str(record)!r}, "a").write(line)
        sys.exit(9)
    """)

    def start(self, env):
        return subprocess.Popen([sys.executable, "-c", stand_in], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)  # fmt: skip

    client = dbt_forkserver._Client()
    monkeypatch.setattr(dbt_forkserver._Client, "_start", start)
    monkeypatch.setattr(dbt_forkserver, "_CLIENT", client)
    ran_as_child = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: ran_as_child.append(a))
    monkeypatch.setenv(dbt_forkserver.ENV_SWITCH, "1")
    done = run_dbt(["build", "--select", "fct_mrr"], tmp_path / "w.duckdb", target_path=tmp_path / "t")
    assert done.returncode == 2 and "died during this run" in done.stderr
    assert ran_as_child == [] and len(record.read_text().splitlines()) == 1


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's first process may never reap orphans)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def test_the_server_dies_with_the_process_that_started_it(tmp_path):
    starter = textwrap.dedent("""
        import os, sys, time
        from lawn import dbt_forkserver
        client = dbt_forkserver._CLIENT
        client.process, client.owner = client._start(dict(os.environ)), os.getpid()
        print(client.process.pid, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", starter], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    server_pid = int(parent.stdout.readline())
    assert _running(server_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if not _running(server_pid):
            return
        time.sleep(0.2)
    pytest.fail(f"the fork server {server_pid} outlived its killed parent")


def test_a_reported_macro_is_learned_and_renders_as_a_fresh_compile(tmp_path):
    """In-process, the two halves of the template sharing: a run reports the macro texts it
    compiled beyond what it inherited, and the server's compile of a reported text renders
    exactly what a fresh compile of that text renders; a text that is not valid Jinja, or a
    report that is not a list of texts, leaves the cache as it was (the run compiles, and
    fails, as it would have)."""
    from dbt_common.clients import jinja

    inherited_text = "{% macro lawn_probe_old(x) %}old {{ x }}{% endmacro %}"
    new_text = "{% macro lawn_probe_new(x, y=2) %}{{ x * y }} / {{ 'a' if x > 1 else 'b' }}{% endmacro %}"
    jinja.template_cache.get_node_template(dbt_forkserver._MacroText(inherited_text))
    inherited = frozenset(jinja.template_cache.file_cache)
    jinja.template_cache.get_node_template(dbt_forkserver._MacroText(new_text))
    report = tmp_path / "templates.json"
    dbt_forkserver.report_templates(str(report), inherited)
    assert json.loads(report.read_text()) == [new_text]

    jinja.template_cache.file_cache.pop(new_text)
    dbt_forkserver.learn_templates(report.read_text())
    learned = jinja.template_cache.file_cache[new_text]
    fresh = jinja.get_template(new_text, {})
    name = jinja.get_dbt_macro_name("lawn_probe_new")  # dbt's parser prefixes every macro
    for x in (1, 3):
        expected = f"{x * 2} / {'a' if x > 1 else 'b'}"
        assert str(getattr(learned.module, name)(x)) == str(getattr(fresh.module, name)(x)) == expected

    before = dict(jinja.template_cache.file_cache)
    broken = "{% macro lawn_probe_broken() %}{{ unclosed {% endmacro %}"
    dbt_forkserver.learn_templates(json.dumps([broken, 7]))
    dbt_forkserver.learn_templates("not json")
    assert jinja.template_cache.file_cache == before


def test_runs_after_the_server_learned_their_macros_compile_the_same_sql(monkeypatch, tmp_path):
    """Three compiles of the same models: a plain child, then two forks of a new server (the
    first reports what it compiled, the second starts with those templates): byte-identical
    SQL. The run folders are kept to read the reports: the first fork compiled dozens of
    macros, the second none of those (it inherited them) and far fewer in all."""
    args = ["compile", "--select", "fct_mrr", "int_account_mrr_monthly", "fct_events",
            "stg_tracking__events", "--indirect-selection", "empty"]  # fmt: skip
    folders: list[Path] = []

    @contextlib.contextmanager
    def kept_folder(prefix: str = ""):
        folders.append(tmp_path / f"run{len(folders)}")
        folders[-1].mkdir()
        yield str(folders[-1])

    monkeypatch.setattr(dbt_forkserver.tempfile, "TemporaryDirectory", kept_folder)
    compiled = {}
    for mode, name in (("0", "plain"), ("1", "first"), ("1", "second")):
        monkeypatch.setenv(dbt_forkserver.ENV_SWITCH, mode)
        if name == "first":
            dbt_forkserver._CLIENT.stop()  # a new server, which has learned nothing yet
        target = tmp_path / name
        done = run_dbt(args, tmp_path / "w.duckdb", target_path=target)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        files = sorted((target / "compiled").rglob("*.sql"))
        # the four selected models (and any ephemeral model they read)
        assert {"fct_mrr", "int_account_mrr_monthly", "fct_events", "stg_tracking__events"} <= {
            f.stem for f in files
        }, files
        compiled[name] = {f.relative_to(target).as_posix(): f.read_bytes() for f in files}
    assert compiled["first"] == compiled["plain"] and compiled["second"] == compiled["plain"]
    first, second = (json.loads((folder / "templates.json").read_text()) for folder in folders)
    assert len(first) > 20 and not set(first) & set(second), (len(first), len(second))
    assert len(second) < len(first) / 4, (len(first), len(second))
