"""lawn/dbt_jinja_cache.py: dbt's Jinja templates compiled once per machine.

The compiled code loaded from the folder must render exactly what a fresh compilation
renders; the key must change with everything the generated code depends on (the
environment's kind, its filters' calling convention, the source); a failed compilation is
never kept; a damaged file is compiled again; no rendered value (a secret read by
``env_var``) reaches the folder; and real dbt runs, with and without the cache, compile the
same SQL."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import jinja2
import pytest
from dbt_common.clients import jinja as dbt_jinja

from lawn import dbt_jinja_cache
from lawn.dbt_runner import run_dbt


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "jinja"
    monkeypatch.setenv(dbt_jinja_cache.DIR_VARIABLE, str(cache))
    monkeypatch.delenv(dbt_jinja_cache.ENV_SWITCH, raising=False)
    assert dbt_jinja_cache.install() is True
    return cache


def _files(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file() and not p.name.startswith("."))


TEMPLATE = (
    "{% set twice = [] %}{% for i in range(3) %}{% do twice.append(i ~ i) %}{% endfor %}"
    "{% for x in twice %}{{ x }}-{% endfor %}{{ name | upper }}{{ items | join(',') }}"
)


def _render(source: str, native: bool = False, **ctx) -> object:
    template = dbt_jinja.get_template(source, ctx, native=native)
    return dbt_jinja.render_template(template, ctx)


def test_a_loaded_template_renders_what_a_fresh_compilation_renders(folder):
    expected = (
        jinja2.Environment(extensions=["jinja2.ext.do"])
        .from_string(TEMPLATE)
        .render(name="ann", items=["a", "b"])
    )
    hits, misses = dbt_jinja_cache.counts()
    first = _render(TEMPLATE, name="ann", items=["a", "b"])
    assert dbt_jinja_cache.counts() == (hits, misses + 1)
    assert len(_files(folder)) == 1
    # the second compilation of the source is a load, and it renders the same, with other values too
    second = _render(TEMPLATE, name="ann", items=["a", "b"])
    assert dbt_jinja_cache.counts() == (hits + 1, misses + 1)
    assert first == second == expected == "00-11-22-ANNa,b"
    assert _render(TEMPLATE, name="bo", items=[1]) == "00-11-22-BO1"
    assert len(_files(folder)) == 1


def test_the_key_changes_with_what_the_generated_code_depends_on():
    text = dbt_jinja.get_environment()
    native = dbt_jinja.get_environment(native=True)
    same = dbt_jinja.get_environment()

    def key(environment, source=TEMPLATE, name=None, defer_init=False):
        return dbt_jinja_cache.cache_key(environment, source, name, None, False, defer_init)

    assert key(text) == key(same)
    assert key(text) != key(native)
    assert key(text) != key(text, TEMPLATE + " ")
    assert key(text) != key(text, name="n")
    assert key(text) != key(text, defer_init=True)
    # a filter that takes the context is called with it by the generated code: another key
    same.filters["upper"] = jinja2.pass_context(lambda context, value: value)
    assert key(text) != key(same)


def test_native_and_text_renders_are_kept_apart(folder, monkeypatch):
    # dbt renders configs with its native environment and SQL with the text one: two
    # environments, two keys, and each renders what it renders without the cache
    from dbt.clients.jinja import get_rendered

    sources = ["{{ [1, 1 + 1] | list }}", "{{ {'a': none} }}", "{{ 1 + 1 }}"]
    monkeypatch.setenv(dbt_jinja_cache.ENV_SWITCH, "0")
    expected = [(get_rendered(s, {}, native=True), get_rendered(s, {})) for s in sources]
    monkeypatch.setenv(dbt_jinja_cache.ENV_SWITCH, "1")
    for _ in range(2):  # compiled, then loaded
        assert [(get_rendered(s, {}, native=True), get_rendered(s, {})) for s in sources] == expected
    assert len(_files(folder)) == 2 * len(sources)


def test_a_syntax_error_fails_as_before_and_is_never_kept(folder):
    for _ in range(2):
        with pytest.raises(dbt_jinja.CompilationError, match=r"endfor|end of template"):
            _render("{% for x in y %}{{ x }}")
    assert _files(folder) == []


def test_a_damaged_file_is_compiled_again_and_replaced(folder):
    assert _render(TEMPLATE, name="a", items=[]) == "00-11-22-A"
    (stored,) = _files(folder)
    stored.write_bytes(b"\x00not marshal")
    hits, misses = dbt_jinja_cache.counts()
    assert _render(TEMPLATE, name="a", items=[]) == "00-11-22-A"
    assert dbt_jinja_cache.counts() == (hits, misses + 1)
    assert _render(TEMPLATE, name="a", items=[]) == "00-11-22-A"
    assert dbt_jinja_cache.counts() == (hits + 1, misses + 1)


def test_the_switch_compiles_as_dbt_does(folder, monkeypatch):
    monkeypatch.setenv(dbt_jinja_cache.ENV_SWITCH, "0")
    assert _render(TEMPLATE, name="a", items=[]) == "00-11-22-A"
    assert _files(folder) == []


def test_without_a_home_folder_dbt_compiles_as_without_the_cache(monkeypatch):
    # a container with no HOME and no password entry: Path.home() raises; never a failed run
    monkeypatch.delenv(dbt_jinja_cache.DIR_VARIABLE, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv(dbt_jinja_cache.ENV_SWITCH, raising=False)

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert dbt_jinja_cache.cache_dir() is None
    assert dbt_jinja_cache.install() is True  # also when this is the process's first install
    hits, misses = dbt_jinja_cache.counts()
    assert _render(TEMPLATE, name="a", items=[]) == "00-11-22-A"
    assert dbt_jinja_cache.counts() == (hits, misses)  # neither loaded nor stored


def test_a_folder_others_may_write_to_is_not_used(tmp_path, monkeypatch):
    # the files are code run as this user: a group- or world-writable folder is not trusted
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv(dbt_jinja_cache.DIR_VARIABLE, str(shared))
    monkeypatch.delenv(dbt_jinja_cache.ENV_SWITCH, raising=False)
    assert dbt_jinja_cache.install() is True
    assert dbt_jinja_cache.trusted(shared) is False
    hits, misses = dbt_jinja_cache.counts()
    assert _render(TEMPLATE, name="a", items=[]) == "00-11-22-A"
    assert dbt_jinja_cache.counts() == (hits, misses) and not any(shared.iterdir())
    assert dbt_jinja_cache.trusted(tmp_path / "own" / "jinja") is True  # made with mode 0700
    assert oct((tmp_path / "own" / "jinja").stat().st_mode & 0o777) == "0o700"


def test_files_unused_for_thirty_days_are_pruned_once_a_day(tmp_path):
    cache = tmp_path / "jinja"
    (cache / "ab").mkdir(parents=True)
    old, fresh = cache / "ab" / "old", cache / "ab" / "fresh"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")
    now = time.time()
    os.utime(old, (now - 31 * 86400, now - 31 * 86400))
    os.utime(fresh, (now - 29 * 86400, now - 29 * 86400))
    assert dbt_jinja_cache.prune(cache, now) == 1
    assert not old.exists() and fresh.exists()
    # within the day nothing is looked at again
    os.utime(fresh, (now - 40 * 86400, now - 40 * 86400))
    assert dbt_jinja_cache.prune(cache, now + 3600) == 0 and fresh.exists()
    assert dbt_jinja_cache.prune(cache, now + 86401) == 1 and not fresh.exists()


# ---- real dbt runs: the same SQL with and without the cache; no secret in the folder ----

SECRET = "s3cr3t-value-9f2c41"


def _project(root: Path) -> Path:
    project = root / "project"
    (project / "models").mkdir(parents=True)
    (project / "macros").mkdir()
    (project / "dbt_project.yml").write_text(
        "name: jc\nversion: '1.0.0'\nconfig-version: 2\nprofile: jc\n"
        "models:\n  jc:\n    +materialized: table\n"
    )
    (project / "profiles.yml").write_text(
        "jc:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'jc.duckdb'}\n      threads: 1\n"
    )
    (project / "macros" / "shout.sql").write_text("{% macro shout(x) %}upper({{ x }}){% endmacro %}")
    (project / "models" / "a.sql").write_text(
        "select {{ shout(\"'ann'\") }} as name, length('{{ env_var('JC_SECRET') }}') as n"
    )
    (project / "models" / "b.sql").write_text(
        "{% for i in range(3) %}select {{ i }} as i from {{ ref('a') }}"
        "{% if not loop.last %} union all {% endif %}{% endfor %}"
    )
    (project / "models" / "schema.yml").write_text(
        "version: 2\nmodels:\n  - name: b\n    columns:\n      - name: i\n        data_tests: [not_null]\n"
    )
    return project


def _build(project: Path, monkeypatch, cache: Path, switch: str) -> dict[str, str]:
    monkeypatch.setenv(dbt_jinja_cache.DIR_VARIABLE, str(cache))
    monkeypatch.setenv(dbt_jinja_cache.ENV_SWITCH, switch)
    monkeypatch.setenv("JC_SECRET", SECRET)
    monkeypatch.setenv("LAWN_DBT_FORKSERVER", "0")  # a plain child reads this environment
    result = run_dbt(["build"], None, project_dir=project)
    assert result.returncode == 0, result.stdout + result.stderr
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    assert {r["status"] for r in results} <= {"success", "pass"}
    return {p.name: p.read_text() for p in (project / "target" / "compiled").rglob("*.sql")}


def test_dbt_runs_compile_the_same_sql_with_and_without_the_cache(tmp_path, monkeypatch):
    project = _project(tmp_path)
    cache = tmp_path / "jinja"
    without = _build(project, monkeypatch, cache, "0")
    assert not cache.exists() or _files(cache) == []
    first = _build(project, monkeypatch, cache, "1")
    stored = _files(cache)
    assert len(stored) > 50  # dbt's materialisations, the project's models and macro
    second = _build(project, monkeypatch, cache, "1")
    assert _files(cache) == stored  # every template of the second run was loaded
    assert without == first == second
    assert "upper('ann')" in first["a.sql"] and SECRET in first["a.sql"]
    # the secret is in the compiled SQL dbt writes (the project asked for it there), never in
    # a compiled template: sources only, rendered values are bound when a template runs
    assert not any(SECRET.encode() in path.read_bytes() for path in stored)
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
