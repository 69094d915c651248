"""lawn/dbt_parse_ahead.py `parsing_meanwhile`: dbt parses the project while the raw files land.

The parse must need no warehouse (the landing holds DuckDB's write lock on the file all the
while) and must leave in the target folder a parse the run after the block takes as current
(dbt's own check: no "Starting full parse" in that run's log). A failed block (a refused file)
neither waits for it nor changes the target folder."""

from __future__ import annotations

import threading

import duckdb
import pytest

from lawn import dbt_parse_cache
from lawn.dbt_parse_ahead import parsing_meanwhile
from lawn.dbt_parse_cache import PARSE_FILE
from lawn.dbt_runner import run_dbt


def _parse_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "lawn-dbt-parse"]


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    # no stored parse to start from: the folder's parse is the one made in the block
    monkeypatch.delenv(dbt_parse_cache.CACHE_ENV, raising=False)
    return tmp_path / "w.duckdb", tmp_path / "target"


def test_the_parse_runs_beside_a_writer_and_the_next_run_takes_it(fresh):
    db, target = fresh
    with duckdb.connect(str(db)) as writer:  # as the landing holds it
        writer.execute("create table landing_in_progress as select 1 as one")
        with parsing_meanwhile(db, target_path=target):
            pass
        assert writer.execute("select count(*) from landing_in_progress").fetchone() == (1,)
    assert not _parse_threads()
    assert (target / PARSE_FILE).is_file()
    assert [p.name for p in target.iterdir()] == [PARSE_FILE]  # the parse's other files stay apart
    listed = run_dbt(["ls", "--select", "fct_mrr", "--resource-type", "model"], db, target_path=target)
    assert listed.returncode == 0, listed.stdout
    assert "fct_mrr" in listed.stdout
    log = (target / "dbt.log").read_text()
    last_run = log[log.rfind("Running with dbt") :]
    assert "partial parsing" in last_run.lower()
    assert "Starting full parse" not in last_run, last_run[:2000]


def test_the_fork_server_outlives_the_parse_thread(fresh):
    """The parse thread must not be the fork server's parent: Linux's parent-death signal
    follows the thread that forked, so a server started there was SIGKILLed when the parse
    ended, and the build after it started a new one (dbt's imports paid again; a run sent in
    between met a dead server). The block starts it from the calling thread."""
    import time

    from lawn import dbt_forkserver

    if not dbt_forkserver.enabled():
        pytest.skip("no fork server on this platform or with LAWN_DBT_FORKSERVER=0")
    dbt_forkserver.abandon()  # start from no server, as a new lawn process does
    db, target = fresh
    with parsing_meanwhile(db, target_path=target):
        pass
    server = dbt_forkserver._CLIENT.process
    assert server is not None and not _parse_threads()
    time.sleep(0.5)  # the signal of a parent thread's exit is delivered at once
    assert server.poll() is None, f"the fork server died with the parse thread ({server.returncode})"
    listed = run_dbt(["ls", "--select", "fct_mrr", "--resource-type", "model"], db, target_path=target)
    assert listed.returncode == 0 and dbt_forkserver._CLIENT.process is server  # the same server ran it


def test_a_failed_block_does_not_wait_and_leaves_the_target_folder_alone(fresh):
    import time

    db, target = fresh
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="refused"), parsing_meanwhile(db, target_path=target):
        raise RuntimeError("a raw file was refused")
    assert time.monotonic() - started < 2  # a full parse of the project takes 5-10 s
    assert not (target / PARSE_FILE).exists()
    for thread in _parse_threads():  # the parse goes on in its scratch folder; let it end here
        thread.join()
    assert not (target / PARSE_FILE).exists()


def test_a_parse_that_fails_is_not_the_callers_failure(fresh, monkeypatch):
    import lawn.dbt_parse_ahead as dbt_parse_ahead

    def broken(*args, **kwargs):
        raise OSError("no dbt here")

    monkeypatch.setattr(dbt_parse_ahead, "execute", broken)
    db, target = fresh
    with parsing_meanwhile(db, target_path=target):
        landed = "rows"
    assert landed == "rows" and not _parse_threads()
    assert not (target / PARSE_FILE).exists()


def test_the_nightly_parses_while_its_validate_step_lands_and_dagster_does_not(tmp_path, monkeypatch):
    """`lawn nightly`'s build step runs dbt as the parse did (same warehouse, vars, day and
    target folder); Dagster's dbt assets run dbt their own way, so its validate op parses
    nothing ahead (its state has no ``parse_ahead``)."""
    import contextlib
    import datetime as dt

    from lawn import nightly, nightly_steps
    from lawn.nightly import NightlyConfig
    from lawn.raw_loader import LoadReport

    parses = []

    @contextlib.contextmanager
    def recording(db_path, **kwargs):
        parses.append((db_path, kwargs))
        yield

    monkeypatch.setattr(nightly_steps, "parsing_meanwhile", recording)
    monkeypatch.setattr("lawn.validate_raw.load_raw", lambda *args, **kwargs: LoadReport())
    config = NightlyConfig(
        tmp_path / "w.duckdb", tmp_path, tmp_path, tmp_path, as_of=dt.date(2026, 4, 5),
        dbt_target_path=tmp_path / "target", dbt_vars={"x": 1},
    )  # fmt: skip
    nightly.step_validate(config, {"parse_ahead": True})
    assert parses == [
        (tmp_path / "w.duckdb",
         {"args": [], "dbt_vars": {"x": 1}, "as_of": dt.date(2026, 4, 5), "target_path": tmp_path / "target"})
    ]  # fmt: skip
    nightly.step_validate(config, {"run_id": "dagster-1", "steps": [], "slo_breaches": []})
    assert len(parses) == 1
