"""lawn/dbt_parse_cache.py: a fresh target folder starts from the stored parse of the same
project, vars and warehouse name, and dbt's own check decides whether that parse still holds:
a stale one (a file changed since) is re-parsed, never used as it is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lawn import dbt_parse_cache
from lawn.dbt_runner import dbt_invocation, run_dbt
from lawn.paths import REPO_ROOT

VARS = {"dq_valid_share_floor": 0.8}


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "store"
    monkeypatch.setenv(dbt_parse_cache.CACHE_ENV, str(folder))
    return folder


def _parse_file(folder: Path, text: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / dbt_parse_cache.PARSE_FILE).write_bytes(text)
    return folder


def test_keep_then_seed_copies_the_parse_of_the_same_key(store, tmp_path):
    first = _parse_file(tmp_path / "first", b"parse-A")
    assert dbt_parse_cache.keep(first, "k1")
    assert not dbt_parse_cache.keep(first, "k1")  # the same bytes are not written twice
    fresh = tmp_path / "fresh"
    assert dbt_parse_cache.seed(fresh, "k1")
    assert (fresh / dbt_parse_cache.PARSE_FILE).read_bytes() == b"parse-A"
    assert not dbt_parse_cache.seed(fresh, "k1")  # it holds k1's parse already
    assert not dbt_parse_cache.seed(tmp_path / "other", "k2")  # nothing stored under k2


def test_a_folder_holding_another_keys_parse_gets_this_keys(store, tmp_path):
    # one target folder used by runs with two sets of vars (as `lawn spark land` then build)
    shared = _parse_file(tmp_path / "shared", b"parse-vars-A")
    dbt_parse_cache.keep(shared, "vars-A")
    dbt_parse_cache.keep(_parse_file(tmp_path / "b", b"parse-vars-B"), "vars-B")
    assert dbt_parse_cache.seed(shared, "vars-B")
    assert (shared / dbt_parse_cache.PARSE_FILE).read_bytes() == b"parse-vars-B"
    assert dbt_parse_cache.seed(shared, "vars-A")
    assert (shared / dbt_parse_cache.PARSE_FILE).read_bytes() == b"parse-vars-A"


def test_unset_means_nothing_is_read_or_written(tmp_path, monkeypatch):
    monkeypatch.delenv(dbt_parse_cache.CACHE_ENV, raising=False)
    folder = _parse_file(tmp_path / "t", b"parse")
    assert not dbt_parse_cache.keep(folder, "k")
    assert not dbt_parse_cache.seed(tmp_path / "fresh", "k")
    invocation = dbt_invocation(["build"], tmp_path / "w.duckdb", target_path=tmp_path / "t2")
    assert invocation.cwd == REPO_ROOT and invocation.parse_key is None
    assert invocation.env["LAWN_DUCKDB_PATH"] == str(tmp_path / "w.duckdb")


@pytest.mark.parametrize("value", ["0", "off", "False", " no "])
def test_an_off_value_is_no_cache_not_a_folder(value, tmp_path, monkeypatch):
    """`LAWN_DBT_PARSE_CACHE=0` meant to switch the cache off made a folder named `0` in the
    caller's folder and stored a 3.8 MB parse there (found in the checkout, 2026-12-07)."""
    monkeypatch.setenv(dbt_parse_cache.CACHE_ENV, value)
    monkeypatch.chdir(tmp_path)
    folder = _parse_file(tmp_path / "t", b"parse")
    assert dbt_parse_cache.cache_dir() is None
    assert not dbt_parse_cache.keep(folder, "k")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["t"]


def test_a_warehouse_path_relative_to_the_callers_folder_is_that_file(tmp_path, monkeypatch):
    """dbt runs in the project's folder: a relative `--db` (`lawn nightly --db n.duckdb` from
    the user's own folder) reached dbt as given, so dbt built `<project>/n.duckdb` while lawn
    had landed the raw rows and the key in `./n.duckdb` (a probe, 2026-12-07: "hash_key
    holds 0 keys")."""
    monkeypatch.delenv(dbt_parse_cache.CACHE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    invocation = dbt_invocation(["build"], Path("n.duckdb"), target_path=tmp_path / "t")
    assert invocation.cwd == REPO_ROOT
    assert invocation.env["LAWN_DUCKDB_PATH"] == str(tmp_path / "n.duckdb")


def test_the_key_separates_vars_targets_and_warehouse_names(tmp_path):
    key = dbt_parse_cache.cache_key
    base = key(REPO_ROOT, VARS, ["build"], "lawn.duckdb")
    assert base == key(REPO_ROOT, dict(VARS), ["build", "--select", "x"], "lawn.duckdb")
    assert base != key(REPO_ROOT, {**VARS, "event_lookback_hours": 0}, ["build"], "lawn.duckdb")
    assert base != key(REPO_ROOT, VARS, ["build", "--target", "postgres"], "lawn.duckdb")
    assert base != key(REPO_ROOT, VARS, ["build"], "other.duckdb")
    assert base != key(tmp_path, VARS, ["build"], "lawn.duckdb")


def _parse(project: Path, db: Path, target: Path) -> tuple[str, dict]:
    done = run_dbt(["parse"], db, dbt_vars=VARS, target_path=target, project_dir=project)
    assert done.returncode == 0, done.stdout[-3000:]
    log = (target / "dbt.log").read_text()
    return log, json.loads((target / "manifest.json").read_text())


def test_a_seeded_parse_is_reused_and_a_changed_file_is_parsed_again(store, tmp_path, monkeypatch):
    # dbt reports a partial parse at debug level (dbt's default for the file log, unless the
    # environment sets another)
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")
    project = tmp_path / "project"
    shutil.copytree(REPO_ROOT, project, ignore=shutil.ignore_patterns(
        ".venv", ".git", "target", "logs", "*.duckdb", "*.duckdb.wal", "tests_py", "docs", "data"
    ))  # fmt: skip
    # two warehouses of one name in different folders: one key (the path is given relative)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    first_log, first = _parse(project, tmp_path / "a" / "lawn.duckdb", tmp_path / "t1")
    assert "Unable to do partial parsing" in first_log
    second_log, second = _parse(project, tmp_path / "b" / "lawn.duckdb", tmp_path / "t2")
    assert "Partial parsing enabled" in second_log and "Unable to do partial parsing" not in second_log
    assert {k: v["checksum"] for k, v in second["nodes"].items()} == {
        k: v["checksum"] for k, v in first["nodes"].items()
    }
    # a model edited after the parse was stored: dbt re-reads that file from the seeded parse
    model = next(project.glob("models/**/fct_data_day.sql"))
    model.write_text(model.read_text() + "\n-- edited after the stored parse\n")
    third_log, third = _parse(project, tmp_path / "c" / "lawn.duckdb", tmp_path / "t3")
    assert "Partial parsing enabled" in third_log and "1 files changed" in third_log
    node = next(v for v in third["nodes"].values() if v["name"] == "fct_data_day")
    assert "edited after the stored parse" in node["raw_code"]
