"""The Dagster code location (lawn/orchestration): its definitions load with the dbt models
as assets, the dbt data tests as asset checks, the schedule and the sensor; the sensor asks
for a run when a raw file appears or changes and for none otherwise; and Dagster's
`materialize` of every asset on the small world gives the same marts, row for row, as
`lawn nightly` on the same raw files, model and options."""

import importlib.util
import json
import os
import re
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, RunRequest, SkipReason, build_sensor_context, materialize

from lawn import dbt_jinja_cache
from lawn.identity_key import ENV_KEY, ENV_KEY_FILE, pads
from lawn.orchestration.definitions import JOB_NAME, NIGHTLY_CRON, build_definitions
from lawn.orchestration.resources import LawnNightlyResource, dbt_environment, manifest_path
from lawn.paths import REPO_ROOT, patched_dbt_executable
from tests_py.conftest import TEST_HASH_KEY, TEST_VARS, query
from tests_py.nightly_world import AUDIT_COLUMNS

_spec = importlib.util.spec_from_file_location("compare_marts", REPO_ROOT / "scripts" / "compare_marts.py")
assert _spec and _spec.loader
compare_marts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_marts)

# run-time stamps that differ between any two runs: test_nightly's wall-clock and run-history
# columns, and in fct_action_exports the key built from the run id (lawn nightly: its UTC
# start time; Dagster: "dagster-<run id>") and the hours from decision to export (wall clock)
# run-time stamps: the export key holds the run id, hours to action and the bandit's
# assigned_at are wall-clock, the reconciliation's retention cutoffs are ages from the wall clock,
# and the retention audit's key, cutoff and applied time come from the retention run's clock
IGNORED = AUDIT_COLUMNS | {
    "retention_audit_key",
    "cutoff_at",
    "applied_at",
    "action_export_key",
    "hours_to_action",
    "assigned_at",
    "raw_cutoff_at",
    "history_cutoff_at",
}


@pytest.fixture(scope="module")
def manifest() -> Path:
    return manifest_path()


@pytest.fixture(scope="module")
def definitions(manifest):
    return build_definitions(manifest)


def test_definitions_load_with_dbt_assets_checks_schedule_and_sensor(definitions, manifest):
    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    nodes = json.loads(manifest.read_text())["nodes"].values()
    # every model (but ephemeral ones: SQL inlined elsewhere), seed and snapshot of the
    # manifest is an asset, under its schema
    assets = {
        n["unique_id"]: f"{n['schema']}/{n['name']}"
        for n in nodes
        if n["resource_type"] in ("model", "seed", "snapshot") and n["config"]["materialized"] != "ephemeral"
    }
    assert set(assets.values()) <= keys
    assert {"tracking/raw_events", "crm/crm_accounts", "score", "action_export", "slo", "report"} <= keys
    # every data test attached to one of those, or a singular test reading only one of
    # them, is an asset check on it
    attached = set()
    for n in nodes:
        parents = [p for p in n.get("depends_on", {}).get("nodes", []) if p in assets]
        target = n.get("attached_node") or (parents[0] if len(parents) == 1 else None)
        if n["resource_type"] == "test" and target in assets:
            attached.add((target.split(".")[-1], n["name"]))
    checks = {(c.asset_key.path[-1], c.name) for c in graph.asset_check_keys}
    assert attached and attached <= checks
    assert checks - attached == {("slo", "no_error_slo_breach")}
    assert ("fct_churn_scores", "primary_key_fct_churn_scores_churn_score_key") in checks
    # the Python steps hang off the dbt assets they read
    parents = lambda key: {k.to_user_string() for k in graph.get(AssetKey(key.split("/"))).parent_keys}  # noqa: E731
    assert "marts/fct_churn_training_examples" in parents("score") and "retention" in parents("score")
    # the models reading a landing table the score step writes wait for it (the staging views)
    assert "score" in parents("staging/stg_ml__churn_scores")
    assert "score" in parents("staging/stg_ml__model_monitoring")
    assert parents("action_export") == {"marts/fct_next_best_actions", "marts/fct_bandit_assignments"}
    assert "bandit" in parents("marts/fct_bandit_readout") or "bandit" in parents(
        "staging/stg_ml__bandit_allocations"
    )
    assert parents("slo") == {"marts/fct_slo_status"}
    # the report: after slo and the export, and after every mart lawn.report_data reads
    # (fct_automation_lift in its queries, fct_data_day for the data day, the cadence reports')
    assert {
        "slo",
        "action_export",
        "marts/fct_automation_lift",
        "marts/fct_data_day",
        "marts/fct_events",
    } <= parents("report")
    assert "tracking/raw_events" in parents("staging/stg_tracking__events")
    # the nightly job, its schedule and the raw-file sensor
    job = definitions.resolve_job_def(JOB_NAME)
    assert set(job.graph.node_dict) == {
        "validate",
        "build",
        "retention",
        "score",
        "scored_build",
        "bandit",
        "bandit_build",
        "action_export",
        "exported_build",
        "slo",
        "report",
    }
    schedule = definitions.resolve_schedule_def("lawn_nightly_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.job_name) == (
        NIGHTLY_CRON,
        "UTC",
        JOB_NAME,
    )
    assert definitions.resolve_sensor_def("new_raw_files").job_name == JOB_NAME


def _tick(definitions, raw_dir: Path, cursor: str | None):
    sensor = definitions.resolve_sensor_def("new_raw_files")
    context = build_sensor_context(
        cursor=cursor, resources={"lawn": LawnNightlyResource(raw_dir=str(raw_dir))}
    )
    result = sensor(context)
    return result, context.cursor


def test_sensor_asks_for_a_run_when_a_raw_file_appears_or_changes(definitions, tmp_path):
    raw = tmp_path / "raw"
    result, cursor = _tick(definitions, raw, None)
    assert isinstance(result, SkipReason)  # no folder yet
    raw.mkdir()
    (raw / "notes.txt").write_text("not a contract table\n")
    result, cursor = _tick(definitions, raw, cursor)
    assert isinstance(result, SkipReason) and cursor is None
    # a CRM export lands: one run
    (raw / "crm_accounts.csv").write_text("account_id,company_name\nacc_1,Acme\n")
    first, cursor = _tick(definitions, raw, cursor)
    assert isinstance(first, RunRequest) and first.tags["lawn/raw_files"] == "crm_accounts.csv"
    # nothing changed since: no run, whatever the number of ticks
    for _ in range(2):
        result, cursor = _tick(definitions, raw, cursor)
        assert isinstance(result, SkipReason)
    # a new table's file: a run with a new key
    (raw / "raw_events.jsonl").write_text('{"event_id": "e1"}\n')
    second, cursor = _tick(definitions, raw, cursor)
    assert isinstance(second, RunRequest) and second.run_key != first.run_key
    assert second.tags["lawn/raw_files"] == "crm_accounts.csv,raw_events.jsonl"
    # the same file rewritten (a later export): a run again
    later = time.time() + 5
    (raw / "crm_accounts.csv").write_text("account_id,company_name\nacc_1,Acme\nacc_2,Beta\n")
    os.utime(raw / "crm_accounts.csv", (later, later))
    third, cursor = _tick(definitions, raw, cursor)
    assert isinstance(third, RunRequest) and third.run_key not in (first.run_key, second.run_key)
    # a day's file in a table's folder (docs/landing_increments.md): a run naming it
    (raw / "marketing_spend").mkdir()
    (raw / "marketing_spend" / "2026-03-01.csv").write_text(
        "spend_date,channel,spend_usd\n2026-03-01,ads,5\n"
    )
    fourth, cursor = _tick(definitions, raw, cursor)
    assert (
        isinstance(fourth, RunRequest) and "marketing_spend/2026-03-01.csv" in fourth.tags["lawn/raw_files"]
    )
    # the day's file removed: the folder is back at the third run's files, and that is a new
    # run (the fingerprint was the run key, which Dagster skips once it has been used)
    (raw / "marketing_spend" / "2026-03-01.csv").unlink()
    (raw / "marketing_spend").rmdir()
    fifth, cursor = _tick(definitions, raw, cursor)
    assert isinstance(fifth, RunRequest) and fifth.tags == third.tags
    assert fifth.run_key not in {first.run_key, second.run_key, third.run_key, fourth.run_key}
    # two files for one table: skipped with the loader's message, no run
    (raw / "crm_accounts.parquet").write_bytes(b"")
    result, _ = _tick(definitions, raw, cursor)
    assert (
        isinstance(result, SkipReason) and "more than one file for table crm_accounts" in result.skip_message
    )


@pytest.fixture(scope="module")
def nightly_and_dagster(nightly_runs, manifest, tmp_path_factory):
    """The small world's raw Parquet files, one hand-set live model, the same options: once
    through `lawn nightly` (test_nightly.py's full refresh B, copied with the model store right
    after it: tests_py/nightly_world.py), once through Dagster's materialize of every asset."""
    shared = nightly_runs["dagster"]
    store = shared["store"]
    work = {"nightly": shared["work"], "dagster": tmp_path_factory.mktemp("dagster_dagster")}
    options = {
        "model_store": store,
        "raw_dir": shared["raw_dir"],
        "full_refresh": True,
        "train_if_missing": False,
        "action_max_age_days": 100,
    }
    saved = os.environ.get(ENV_KEY)
    os.environ[ENV_KEY] = TEST_HASH_KEY.secret.decode()  # resolved as in production (and as B's)
    side = work["dagster"]
    # Dagster's dbt runs compile their Jinja through lawn's patches (lawn-dbt): into this folder
    saved_cache = os.environ.get(dbt_jinja_cache.DIR_VARIABLE)
    os.environ[dbt_jinja_cache.DIR_VARIABLE] = str(side / "jinja_cache")
    try:
        lawn = LawnNightlyResource(
            db_path=str(side / "lawn.duckdb"),
            export_dir=str(side / "exports"),
            report_dir=str(side / "report"),
            dbt_vars_json=json.dumps(TEST_VARS),
            dbt_target_path=str(side / "target"),
            **{name: str(value) if isinstance(value, Path) else value for name, value in options.items()},
        )
        defs = build_definitions(manifest, lawn)
        dagster = materialize(
            list(defs.assets),
            resources=defs.resources,
            instance=DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
    finally:
        os.environ.pop(ENV_KEY)
        if saved is not None:
            os.environ[ENV_KEY] = saved
        os.environ.pop(dbt_jinja_cache.DIR_VARIABLE)
        if saved_cache is not None:
            os.environ[dbt_jinja_cache.DIR_VARIABLE] = saved_cache
    return {"nightly": shared["nightly"], "dagster": dagster, "work": work}


@pytest.mark.slow
def test_materialize_gives_the_same_marts_as_lawn_nightly(nightly_and_dagster, manifest):
    nightly, dagster, work = (nightly_and_dagster[k] for k in ("nightly", "dagster", "work"))
    assert nightly.exit_code == 0, [(s.name, s.detail) for s in nightly.steps if s.status != "ok"]
    failures = [f"{e.step_key}: {e.event_specific_data}" for e in dagster.all_events if e.is_step_failure]
    assert dagster.success, failures
    left, right = work["nightly"] / "lawn.duckdb", work["dagster"] / "lawn.duckdb"
    import duckdb

    with (
        duckdb.connect(str(left), read_only=True) as lcon,
        duckdb.connect(str(right), read_only=True) as rcon,
    ):
        tables = compare_marts._tables(lcon, "marts")
        assert tables == compare_marts._tables(rcon, "marts")
        nodes = json.loads(manifest.read_text())["nodes"].values()
        marts = {
            n["alias"]
            for n in nodes
            if n["resource_type"] == "model"
            and n["schema"] == "marts"
            and n["config"]["materialized"] != "ephemeral"
        }
        assert marts <= set(tables)
        problems, compared = [], 0
        for table, columns in sorted(tables.items()):
            kept = [(name, kind) for name, kind in columns if name not in IGNORED]
            rows = [compare_marts._rows(con, "marts", table, kept, 8) for con in (lcon, rcon)]
            if len(rows[0]) != len(rows[1]):
                problems.append(f"{table}: {len(rows[0])} vs {len(rows[1])} rows")
                continue
            compared += len(rows[0])
            for a, b in zip(*rows, strict=True):
                bad = [name for i, (name, _) in enumerate(kept) if not compare_marts._same(a[i], b[i], 1e-9)]
                if bad:
                    problems.append(f"{table}: {bad} differ, e.g. {a} vs {b}")
                    break
    assert not problems, problems
    # the comparison is not vacuous: the marts the run writes have rows on both sides
    for table in ("fct_churn_scores", "fct_next_best_actions", "fct_action_exports", "fct_slo_status"):
        assert len(query(right, f"select * from marts.{table}")) > 0, table
    assert compared > 10_000
    # the same actions went out, under each side's own run id
    sent = "select action_id, record_type from ops.action_exports order by all"
    assert query(left, sent).equals(query(right, sent)) and len(query(right, sent)) > 0
    assert set(query(right, "select distinct run_id from ops.action_exports")["run_id"]) == {
        f"dagster-{dagster.run_id}"
    }


@pytest.mark.slow
def test_dagster_evaluates_the_dbt_tests_and_writes_the_report(nightly_and_dagster):
    dagster, work = nightly_and_dagster["dagster"], nightly_and_dagster["work"]
    evaluations = dagster.get_asset_check_evaluations()
    by_name = {(e.asset_key.path[-1], e.check_name): e for e in evaluations}
    assert len(by_name) > 300
    assert by_name[("fct_churn_scores", "primary_key_fct_churn_scores_churn_score_key")].passed
    assert by_name[("slo", "no_error_slo_breach")].passed
    # the report lists the run's steps as the nightly's does, from Dagster's event log
    report = (work["dagster"] / "report" / "report.md").read_text()
    rows = {m[0]: m[1:] for m in re.findall(r"^\| (\w+) \| (\w+) \| [\d.]+ s \| (.*) \|$", report, re.M)}
    order = list(rows)
    dbt_steps = ("build", "scored_build", "bandit_build", "exported_build")
    assert set(order) == {"validate", "retention", "score", "bandit", "slo", "action_export", *dbt_steps}, (
        rows
    )
    for before, after in (("validate", "build"), ("build", "retention"), ("retention", "score"),
                          ("score", "scored_build"), ("scored_build", "bandit"), ("bandit", "bandit_build"),
                          ("bandit_build", "action_export"), ("action_export", "exported_build"),
                          ("build", "slo")):  # fmt: skip
        assert order.index(before) < order.index(after), order
    assert all(status == "ok" for status, _ in rows.values()), rows
    assert rows["validate"][1].startswith("raw files in") and "actions and" in rows["action_export"][1]
    # the dbt steps' check counts add up to the checks the run evaluated (less the SLO check)
    counted = [re.fullmatch(r"(\d+) assets, (\d+) checks \((\d+) failed\)", rows[s][1]) for s in dbt_steps]
    assert all(counted), rows
    assert sum(int(m[2]) for m in counted) == len(evaluations) - 1
    assert sum(int(m[3]) for m in counted) == sum(not e.passed for e in evaluations)
    assert f"dagster-{dagster.run_id}" in report


def _failure(result, step: str) -> str:
    failures = [e for e in result.all_events if e.is_step_failure and e.step_key == step]
    assert len(failures) == 1, [e.step_key for e in result.all_events if e.is_step_failure]
    return failures[0].event_specific_data.error.message


def test_a_failed_step_fails_the_run_with_its_one_line_message(definitions, manifest, tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "crm_accounts.csv").write_text("account_id,company_name\nacc_1,Acme\n")
    (raw / "raw_events.jsonl").write_text('{"event_id": "e1"\n')  # a truncated line
    db = tmp_path / "lawn.duckdb"
    lawn = LawnNightlyResource(db_path=str(db), raw_dir=str(raw), report_dir=str(tmp_path / "report"))
    defs = build_definitions(manifest, lawn)

    def run():
        return materialize(
            list(defs.assets),
            resources=defs.resources,
            instance=DagsterInstance.ephemeral(),
            raise_on_error=False,
        )

    monkeypatch.setenv(ENV_KEY, TEST_HASH_KEY.secret.decode())
    result = run()
    message = _failure(result, "validate")
    assert f"{raw / 'raw_events.jsonl'}: line 1: not a JSON object" in message and "Traceback" not in message
    assert not result.success and not result.get_asset_materialization_events()  # nothing downstream ran
    assert not list(tmp_path.glob("report/*"))
    # no identity hash key: refused before anything is landed, as lawn nightly does
    monkeypatch.delenv(ENV_KEY)
    result = run()
    assert "no identity hash key" in _failure(result, "validate")
    assert not db.exists() or query(db, "select count(*) as n from information_schema.tables")["n"][0] == 0


def test_dbt_starts_without_the_identity_key_and_on_the_runs_warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_KEY, TEST_HASH_KEY.secret.decode())
    monkeypatch.setenv("LAWN_DUCKDB_PATH", "/elsewhere/lawn.duckdb")
    before = dict(os.environ)
    with dbt_environment(tmp_path / "lawn.duckdb"):
        assert ENV_KEY not in os.environ and ENV_KEY_FILE not in os.environ
        assert os.environ["LAWN_DUCKDB_PATH"] == str(tmp_path / "lawn.duckdb")
        assert os.environ["PATH"] == before["PATH"]
    assert dict(os.environ) == before


def test_dagster_runs_dbt_with_lawns_patches(definitions):
    # Dagster's dbt resource runs lawn-dbt (lawn/dbt_main.py): dbt's command line, lawn's patches
    executable = definitions.resources["dbt"].dbt_executable
    assert Path(executable).name == "lawn-dbt" and executable == patched_dbt_executable()
    done = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "installed: 1.11." in done.stdout, done.stdout + done.stderr


@pytest.mark.slow
def test_dagsters_dbt_runs_compile_through_the_jinja_cache(nightly_and_dagster):
    # the fixture pointed the cache at its work folder: Dagster's four dbt steps filled it
    folder = nightly_and_dagster["work"]["dagster"] / "jinja_cache"
    assert len([p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]) > 100


@pytest.mark.slow
def test_the_identity_key_is_in_no_file_the_dagster_run_wrote(nightly_and_dagster):
    """As test_nightly's leak test, for the Dagster side: dbt's target folders (manifest,
    run results, compiled SQL, logs), the export and the report hold the key in no form."""
    secret = TEST_HASH_KEY.secret
    needles = [
        secret,
        secret.split(b"'")[0],
        secret.hex().encode(),
        *(pad.hex().encode() for pad in pads(secret)),
    ]
    work = nightly_and_dagster["work"]["dagster"]
    scanned = 0
    for path in work.rglob("*"):
        if path.is_file() and not path.name.startswith("lawn.duckdb"):
            scanned += 1
            assert not [n for n in needles if n in path.read_bytes()], path
    assert scanned > 100 and len(list(work.glob("target/*/manifest.json"))) == 4  # the four dbt steps
    assert list(work.glob("exports/*/actions.csv")) and (work / "report" / "report.html").exists()


def test_an_error_slo_breach_fails_the_slo_check_and_a_warning_does_not(manifest, tmp_path, monkeypatch):
    """Step slo alone on a hand-written fct_slo_status: lawn nightly exits 3 on an error-severity
    breach of the latest day; Dagster's check no_error_slo_breach fails then, naming it."""
    db = tmp_path / "lawn.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_slo_status (slo_id varchar, evaluated_date date, metric_value double,"
            " threshold double, severity varchar, status varchar, is_latest boolean)"
        )
        con.execute(
            "insert into marts.fct_slo_status values"
            " ('freshness_hours', '2026-03-01', 30, 24, 'error', 'breach', false),"  # an old breach
            " ('freshness_hours', '2026-03-02', 2, 24, 'error', 'pass', true),"
            " ('valid_share', '2026-03-02', 0.7, 0.8, 'warn', 'breach', true)"
        )
    monkeypatch.setenv(ENV_KEY, TEST_HASH_KEY.secret.decode())

    def check():
        defs = build_definitions(manifest, LawnNightlyResource(db_path=str(db)))
        result = materialize(
            list(defs.assets),
            resources=defs.resources,
            instance=DagsterInstance.ephemeral(),
            selection=["slo"],
        )
        (evaluation,) = result.get_asset_check_evaluations()
        return evaluation

    evaluation = check()  # a warning breaches, no error does on the latest day
    assert evaluation.passed and evaluation.metadata["error_breaches"].value == "none"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "update marts.fct_slo_status set status = 'breach', metric_value = 31"
            " where is_latest and severity = 'error'"
        )
    evaluation = check()
    assert not evaluation.passed and evaluation.severity.value == "ERROR"
    assert evaluation.metadata["error_breaches"].value == "freshness_hours"


@pytest.mark.parametrize(
    ("error", "said"),
    [
        ("lawn", "actions: /x/exports: cannot write export files there (Operation not permitted)"),
        ("other", "actions: ZeroDivisionError: division by zero"),
    ],
)
def test_any_step_error_is_a_one_line_failure(tmp_path, monkeypatch, error, said):
    """An export folder the step cannot write raised lawn's ActionError through Dagster with a
    traceback through steps.py, nightly_steps.py and actions.py (a probe, 2026-12-07), where
    `lawn nightly` records one line: now every error of a step is a Failure of one line, lawn's
    own in its words, another library's with its type."""
    from types import SimpleNamespace

    from dagster import Failure

    from lawn.actions import ActionError
    from lawn.orchestration.steps import run_step

    def step(config, state):
        if error == "lawn":
            raise ActionError("/x/exports: cannot write export files there (Operation not permitted)")
        return str(1 / 0)

    monkeypatch.setenv(ENV_KEY, TEST_HASH_KEY.secret.decode())
    context = SimpleNamespace(run=SimpleNamespace(run_id="r1"), log=SimpleNamespace(info=lambda *_: None))
    lawn = LawnNightlyResource(db_path=str(tmp_path / "lawn.duckdb"))
    with pytest.raises(Failure) as raised:
        run_step(context, lawn, "actions", step)
    assert raised.value.description == said
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_the_shipped_instance_config_loads_and_frees_a_killed_runs_pool_slot(tmp_path, monkeypatch):
    """ops/dagster.yaml is a valid instance config (Dagster refuses an unknown key at start) and
    turns on what frees the pool slot of a run killed mid-way: the daemon's run monitoring with
    a maximum run time and freed slots after a run ends (a probe's killed run blocked every
    later one on `lawn_warehouse`)."""
    import shutil

    shutil.copy(REPO_ROOT / "ops" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance = DagsterInstance.get()
    try:
        settings = instance.run_monitoring_settings
        assert instance.run_monitoring_enabled and 0 < instance.run_monitoring_max_runtime_seconds <= 6 * 3600
        assert 0 < settings["free_slots_after_run_end_seconds"] <= 600
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    finally:
        instance.dispose()
