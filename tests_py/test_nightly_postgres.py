"""`lawn nightly --target postgres`: the nightly's Python steps read and write PostgreSQL through
lawn/warehouse_io.py, and give the rows a DuckDB nightly gives on the same files.

The server comes from scripts/postgres_ci.sh (skipped without one locally, FAIL in CI, as in
test_postgres.py); this file uses its second database, ``<LAWN_PG_DATABASE>_nightly``, so it
can run beside test_postgres.py (pytest -n 2) without the two builds meeting.

One DuckDB nightly and two PostgreSQL nightlies (the second on the same data) over the small
Parquet world, with the same hand-set churn model, key and vars. Compared row for row: the
churn scores and their contributions, the monitoring checks, the bandit allocations and
assignments, the export ledger and the exported file; the second PostgreSQL run exports
nothing new. The layer itself is tested on hand-written frames (NULL vs NaN vs '', dates,
booleans) on both engines."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from lawn.actions import export_actions
from lawn.churn_model import load_dataset, save_artefact
from lawn.faults import InjectedFault
from lawn.nightly import run_nightly
from lawn.postgres import pg_login
from lawn.warehouse_io import DuckDBWarehouse, PostgresWarehouse, connect, postgres_sql
from tests_py.expectations import parse_utc
from tests_py.pg_harness import own_database_env
from tests_py.test_nightly import _artefact, _config

# wall-clock and run-history columns: they differ between runs by design
AUDIT = {"scored_at", "run_at", "allocated_at", "assigned_at", "exported_at", "export_path", "run_id"}
# the Python outputs compared, with their key (a sort order that makes rows unique)
OUTPUTS = {
    "ml.churn_scores": "model_version, feature_date, account_id",
    "ml.churn_score_contributions": "model_version, feature_date, account_id, feature",
    "ml.model_monitoring": "model_version, check_name, subject, slice_dimension, slice_value",
    "ml.bandit_allocations": "bandit_id, decision_day, context, arm",
    "ml.bandit_assignments": "bandit_id, decision_day, action_id",
    "ops.action_exports": "record_type, action_id",
}


def _cell(value: object) -> object:
    """One value as both engines' rows are compared: NULL/NaN as None, times as ISO text,
    floats to 12 significant digits (both store the same double; pandas' dtypes differ)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.12g}")
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _rows(con, relation: str, key: str) -> list[tuple]:
    frame = con.query(f"select * from {relation} order by {key}")
    frame = frame.drop(columns=[c for c in frame.columns if c in AUDIT])
    return [tuple(_cell(v) for v in row) for row in frame[sorted(frame.columns)].itertuples(index=False)]


@pytest.fixture(scope="module")
def pg_nightly_env(pg_env) -> dict[str, str]:
    """The LAWN_PG_* settings with the nightly test's own database (postgres_ci.sh makes it)."""
    return own_database_env(pg_env, "_nightly")


@pytest.fixture(scope="module")
def runs(pg_nightly_env, small_data, small_parquet, tmp_path_factory):
    """A DuckDB nightly and two PostgreSQL nightlies on the same files; every compared output
    read right after its run."""
    received = small_data.raw["raw_events"]["received_at"].map(parse_utc)
    last_day = received.dropna().dt.date.max()
    store = tmp_path_factory.mktemp("pg_nightly_store")
    save_artefact(store, _artefact("v1-test", last_day - dt.timedelta(days=30), intercept=-1.2))
    raw_dir = small_parquet / "raw"
    duck_work, pg_work = tmp_path_factory.mktemp("duck_nightly"), tmp_path_factory.mktemp("pg_nightly")
    duck = run_nightly(_config(duck_work, raw_dir, store, full_refresh=True))
    with connect(duck_work / "lawn.duckdb", read_only=True) as con:
        duck_rows = {relation: _rows(con, relation, key) for relation, key in OUTPUTS.items()}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in pg_nightly_env.items():
            patch.setenv(name, value)
        login = pg_login("dbt")
        with connect(login) as con:  # a clean database: no ledger, scores or runs of earlier tests
            con.execute("drop schema if exists ml cascade")
            con.execute("drop schema if exists ops cascade")
        first = run_nightly(_config(pg_work, raw_dir, store, full_refresh=True, target="postgres"))
        with connect(login) as con:
            pg_rows = {relation: _rows(con, relation, key) for relation, key in OUTPUTS.items()}
        pg_work2 = tmp_path_factory.mktemp("pg_nightly_again")
        again_config = _config(pg_work2, raw_dir, store, full_refresh=True, target="postgres")
        again_config.full_refresh = False
        again = run_nightly(again_config)
        with connect(login) as con:
            pg_rows_again = {relation: _rows(con, relation, key) for relation, key in OUTPUTS.items()}
            ledger_runs = con.query("select run_id, count(*) as n from ops.action_exports group by run_id")
            run_rows = con.query("select run_id, status from ops.nightly_runs order by started_at")
        yield {"duck": duck, "pg": first, "again": again, "duck_rows": duck_rows, "pg_rows": pg_rows,
               "pg_rows_again": pg_rows_again, "ledger_runs": ledger_runs, "run_rows": run_rows,
               "duck_work": duck_work, "pg_work": pg_work, "pg_work2": pg_work2, "login": login}  # fmt: skip


def test_the_postgres_nightly_runs_every_ported_step_and_names_the_skipped_ones(runs):
    assert [(s.name, s.status) for s in runs["duck"].steps if s.status != "ok"] == []
    for result in (runs["pg"], runs["again"]):
        statuses = {step.name: step.status for step in result.steps}
        failed = [f"{s.name}: {s.detail}" for s in result.steps if s.status == "failed"]
        assert not failed and result.exit_code == 0, failed
        assert statuses == {"validate": "ok", "build": "ok", "retention": "skipped", "score": "ok",
                            "bandit": "ok", "actions": "ok", "slo": "ok", "report": "ok"}  # fmt: skip
        skipped = [s.detail for s in result.steps if s.status == "skipped"]
        assert all("not ported to postgres" in detail and "\n" not in detail for detail in skipped)
    # both runs recorded in the server's run ledger, as successes
    assert list(runs["run_rows"]["run_id"]) == [runs["pg"].run_id, runs["again"].run_id]
    assert set(runs["run_rows"]["status"]) == {"success"}
    assert runs["pg"].as_of_date == runs["duck"].as_of_date is not None


def test_the_postgres_nightly_writes_the_reports_duckdb_writes(runs):
    """The report step on PostgreSQL reads a DuckDB mirror of the relations the report code
    reads (lawn/reports/mirror.py): the cadence reports due on the data day say word for word
    what the DuckDB nightly's say, and the nightly report has the same sections."""
    duck_dir, pg_dir = runs["duck_work"] / "report", runs["pg_work"] / "report"
    duck = {
        p.relative_to(duck_dir).as_posix(): p.read_text() for p in (duck_dir / "cadence").rglob("report.md")
    }
    pg = {p.relative_to(pg_dir).as_posix(): p.read_text() for p in (pg_dir / "cadence").rglob("report.md")}
    assert duck and duck.keys() == pg.keys()
    for name in duck:
        assert pg[name] == duck[name], name

    def headings(folder: Path) -> list[str]:
        return [line for line in (folder / "report.md").read_text().splitlines() if line.startswith("#")]

    assert headings(pg_dir) == headings(duck_dir) and len(headings(duck_dir)) > 5


# The action's reason quotes the top contributions through the number_to_text macro
# (macros/portability); DuckDB once wrote a contribution that rounds to zero from below as
# "-0.0" where PostgreSQL writes "0.0". The macro now writes "0.0" on every engine, so the
# outputs must be equal with no normalisation.
NEGATIVE_ZERO = re.compile(r"=(\+?)-0\.0(?![0-9])")


@pytest.mark.parametrize("relation", list(OUTPUTS))
def test_python_outputs_equal_the_duckdb_nightly(runs, relation):
    duck, pg = runs["duck_rows"][relation], runs["pg_rows"][relation]
    assert len(duck) > 0, f"{relation}: the DuckDB nightly wrote nothing to compare"
    if relation == "ops.action_exports":
        assert not any(NEGATIVE_ZERO.search(str(value)) for row in duck + pg for value in row)
    assert pg == duck, relation


def test_the_exported_files_are_the_same_bytes(runs):
    (duck_csv,) = (runs["duck_work"] / "exports").glob("*/actions.csv")
    (pg_csv,) = (runs["pg_work"] / "exports").glob("*/actions.csv")
    assert pg_csv.read_bytes() == duck_csv.read_bytes()
    assert len(pd.read_csv(pg_csv)) == len([r for r in runs["duck_rows"]["ops.action_exports"]]) > 0


def test_a_second_postgres_nightly_exports_nothing_new(runs):
    """Same data again: the same scores, bandit rows and ledger; its export is header only."""
    ledger = dict(zip(runs["ledger_runs"]["run_id"], runs["ledger_runs"]["n"], strict=True))
    assert ledger == {runs["pg"].run_id: len(runs["pg_rows"]["ops.action_exports"])}
    for relation in OUTPUTS:
        assert runs["pg_rows_again"][relation] == runs["pg_rows"][relation], relation
    (csv,) = (runs["pg_work2"] / "exports").glob("*/actions.csv")
    assert len(pd.read_csv(csv)) == 0
    export = next(s for s in runs["again"].steps if s.name == "actions")
    assert export.detail.startswith("0 actions and 0 reversals"), export.detail


def test_a_postgres_export_killed_after_staging_is_completed_once(runs, tmp_path, monkeypatch):
    """Exactly once on the server: a reversal planted, the export killed after its ledger rows
    committed (before any file); the next export completes it from the ledger and sends
    nothing twice."""
    login = runs["login"]
    with connect(login) as con:
        target = con.query("select min(action_id) as a from ops.action_exports where record_type = 'action'")
        action_id = target["a"][0]
        con.write_frame(
            "ops.action_reversals",
            pd.DataFrame(
                {
                    "action_id": [action_id],
                    "reverted_at": [dt.datetime(2026, 1, 2, 3, 4, 5)],
                    "reverted_by": ["test"],
                    "reason": ["planted"],
                }
            ),
        )
    monkeypatch.setenv("LAWN_FAULT_INJECT", "export:staged")
    with pytest.raises(InjectedFault):
        export_actions(login, tmp_path, "killed-run", max_age_days=100)
    monkeypatch.delenv("LAWN_FAULT_INJECT")
    with connect(login) as con:
        assert con.query("select status from ops.export_batches where run_id = 'killed-run'")[
            "status"
        ].tolist() == ["staged"]
    assert not (tmp_path / "killed-run" / "actions.csv").exists()
    result = export_actions(login, tmp_path, "next-run", max_age_days=100)
    assert result.completed == ["killed-run"] and (result.actions, result.reversals) == (0, 0)
    sent = pd.read_csv(tmp_path / "killed-run" / "actions.csv")
    assert sent[["record_type", "action_id"]].values.tolist() == [["reversal", action_id]]
    with connect(login) as con:
        counts = con.query(
            "select action_id, record_type, count(*) as n from ops.action_exports group by 1, 2"
        )
    assert (counts["n"] == 1).all()


def test_the_training_input_reads_the_same_on_both_engines(runs):
    """load_dataset (what `lawn model train` and the nightly's first model fit) through the layer."""
    duck = load_dataset(runs["duck_work"] / "lawn.duckdb")
    pg = load_dataset(runs["login"])
    assert len(duck) > 0
    pd.testing.assert_frame_equal(pg, duck, check_dtype=False)


# -- the layer on hand-written frames --------------------------------------------------------

FRAME = pd.DataFrame(
    {
        "action_id": ["a1", "a2", "=cmd"],
        "reverted_at": [dt.datetime(2026, 3, 1, 12, 30), pd.NaT, dt.datetime(2026, 3, 2)],
        "reverted_by": ["ops", None, ""],  # NULL and '' stay apart
        "reason": ["it's 100% wrong?", "", None],  # a quote, a percent sign and a ? in text
    }
)


def _round_trip(wh) -> list[tuple]:
    wh.execute("drop schema if exists layer_test cascade")
    wh.execute("create schema layer_test")
    wh.execute(
        "create table layer_test.reversals "
        f"(action_id {wh.types['string']}, reverted_at {wh.types['timestamp']}, "
        f"reverted_by {wh.types['string']}, reason {wh.types['string']})"
    )
    wh.write_frame("layer_test.reversals", FRAME.iloc[:1])
    with wh.transaction():
        wh.write_frame("layer_test.reversals", FRAME, mode="replace")
    with pytest.raises(ZeroDivisionError), wh.transaction():  # rolled back: the rows stay
        wh.write_frame("layer_test.reversals", FRAME.iloc[:1], mode="replace")
        wh.execute("delete from layer_test.reversals")
        raise ZeroDivisionError
    wh.stage("wanted", pd.DataFrame({"action_id": ["a2", "=cmd"], "n": [1, 2]}))
    return wh.execute(
        "select r.action_id, r.reverted_at, r.reverted_by, r.reason, w.n from layer_test.reversals as r "
        "left join wanted as w on w.action_id = r.action_id where r.reason <> ? or r.reason is null "
        "order by r.action_id",
        ["nothing"],
    ).fetchall()


def test_the_layer_writes_and_reads_the_same_rows_on_both_engines(pg_nightly_env, tmp_path):
    expected = [
        ("=cmd", dt.datetime(2026, 3, 2), "", None, 2),
        ("a1", dt.datetime(2026, 3, 1, 12, 30), "ops", "it's 100% wrong?", None),
        ("a2", None, None, "", 1),
    ]
    with connect(tmp_path / "layer.duckdb") as duck:
        assert isinstance(duck, DuckDBWarehouse)
        assert _round_trip(duck) == expected
    with connect(pg_login("dbt", pg_nightly_env)) as pg:
        assert isinstance(pg, PostgresWarehouse)
        try:
            assert _round_trip(pg) == expected
        finally:
            pg.execute("drop schema if exists layer_test cascade")


def test_parameter_marks_become_psycopg2_marks_outside_quoted_text():
    assert postgres_sql("select '?', \"a?\", x from t where a = ? and b like '%x' and c % 2 = ?") == (
        "select '?', \"a?\", x from t where a = %s and b like '%x' and c %% 2 = %s"
    )
    assert postgres_sql("select 'it''s ?' where a = ?") == "select 'it''s ?' where a = %s"


def test_a_duckdb_path_is_opened_as_duckdb_did(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table t as select 1 as x")
    with connect(path, read_only=True) as wh:
        assert wh.engine == "duckdb" and wh.query("select x from t")["x"].tolist() == [1]
        with pytest.raises(duckdb.Error):
            wh.execute("insert into t values (2)")  # read-only, as duckdb.connect(read_only=True)


def test_one_writer_at_a_time_on_the_server(pg_nightly_env):
    """The writer lock on PostgreSQL: a second nightly refuses, naming the holding backend;
    once the holder's connection is gone the lock is free again."""
    from lawn.warehouse import WarehouseError
    from lawn.warehouse_io import postgres_writer_lock

    login = pg_login("dbt", pg_nightly_env)
    held = r"locked by another lawn writer: backend pid \d+ \(lawn\)"
    with (
        postgres_writer_lock(login, "first"),
        pytest.raises(WarehouseError, match=held),
        postgres_writer_lock(login, "second", wait_seconds=0.6),
    ):
        pass
    with postgres_writer_lock(login, "third"):  # released
        pass


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--target", "sqlite"], {}, "--target 'sqlite': one of duckdb, postgres"),
        (["--target", "postgres"], {"LAWN_PG_PASSWORD": None}, "LAWN_PG_PASSWORD is not set"),
    ],
)
def test_a_bad_target_is_one_line_exit_2(args, env, message, monkeypatch):
    from typer.testing import CliRunner

    from lawn.cli import app

    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["nightly", "--dev", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1, result.output
