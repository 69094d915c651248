"""The small world through `lawn nightly`, built once per worker for tests_py/test_nightly.py,
tests_py/test_cadence_reports.py and tests_py/test_dagster.py (docs/test_cost.md, "Shared worlds
of the pytest suite").

Both files ran the same first two nights on the same inputs: day 1 (the raw events received
before the last day) as a full refresh, then day 2 (all of them) incrementally, with the same
hand-set live model, vars and identity key. Now one session fixture runs them, renders the
cadence reports the cadence tests read after each night (reports only read the warehouse),
and copies the warehouse, its report and target folders and the model store after night 2 for
the cadence tests, so that they see exactly the state they saw before (two nights), whatever
test_nightly's tests do later to its own warehouse and store (a third night, a revert, a
rollback). test_dagster.py compared its Dagster run with a `lawn nightly` full refresh of the
same world, which is test_nightly's run B: a copy of B's folder and of the store right after B
is that side now. tests_py/ordering.py sends the three files to the same xdist worker."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pandas as pd

from lawn.churn_model import FEATURES, save_artefact
from lawn.identity_key import ENV_KEY
from lawn.nightly import NightlyConfig, NightlyResult, run_nightly
from lawn.reports.asof import CADENCES
from lawn.reports.run import write_cadence_report
from tests_py.expectations import parse_utc

# wall-clock and run-history columns: they differ between runs by design
AUDIT_COLUMNS = {"scored_at", "run_at", "exported_at", "export_path", "run_id", "median_hours_to_action"}
MARTS = {
    "marts.fct_churn_scores": "churn_score_key",
    "marts.fct_model_monitoring": "monitoring_check_key",
    "marts.fct_next_best_actions": "action_id",
    "marts.fct_automation_lift": "automation_lift_key",
    "marts.fct_account_features_daily": "account_feature_key",
    "marts.fct_slo_status": "slo_status_key",
    "marts.fct_mrr": "account_month_key",
    "marts.fct_experiment_readouts": "readout_key",
    "marts.fct_growth_system_health": "month_start",
    "marts.fct_data_quality_daily": "data_quality_key",
    "marts.fct_events": "event_id",
}


def artefact(version: str, training_end: dt.date, intercept: float) -> dict:
    """A hand-set logistic model: the nightly run's plumbing is under test, not its fit."""
    weights = dict.fromkeys(FEATURES, 0.0) | {"usage_trend_7d": -0.8, "support_tickets_28d": 0.6,
                                              "active_users_7d": -0.5, "api_errors_7d": 0.3}  # fmt: skip
    spec = {
        "fill": dict.fromkeys(FEATURES, 0.0),
        "mean": dict.fromkeys(FEATURES, 0.0),
        "std": dict.fromkeys(FEATURES, 5.0),
        "coefficients": [intercept, *[weights[f] for f in FEATURES]],
    }
    return {
        "version": version,
        "features": list(FEATURES),
        "label": "hand-set for tests",
        "training_window": ["2026-03-02", str(training_end)],
        "test_window": [str(training_end), str(training_end)],
        "training_rows": 0, "training_positives": 0, "test_rows": 0, "test_positives": 0,
        "test_auc": float("nan"), "test_brier": float("nan"),
        "test_auc_by_segment": {}, "test_calibration": [], "spec": spec,
    }  # fmt: skip


def snapshot(db: Path) -> dict[str, pd.DataFrame]:
    from tests_py.conftest import query

    frames = {}
    for table, key in MARTS.items():
        where = ""
        if table == "marts.fct_model_monitoring":
            where = f"where as_of_date = (select max(as_of_date) from {table})"
        frame = query(db, f"select * from {table} {where} order by {key}")
        frames[table] = frame.drop(columns=[c for c in frame.columns if c in AUDIT_COLUMNS])
    return frames


def bandit_rows(db: Path) -> dict[str, pd.DataFrame]:
    """The bandit step's landing rows without their write times."""
    from tests_py.conftest import query

    return {
        "ml.bandit_allocations": query(
            db, "select * exclude (allocated_at) from ml.bandit_allocations order by all"
        ),
        "ml.bandit_assignments": query(
            db, "select * exclude (assigned_at) from ml.bandit_assignments order by all"
        ),
    }


def nightly_config(
    work: Path,
    raw_dir: Path,
    store: Path,
    full_refresh: bool = False,
    key_from_env: bool = False,
    target: str = "duckdb",
) -> NightlyConfig:
    from tests_py.conftest import TEST_HASH_KEY, TEST_VARS

    return NightlyConfig(
        db_path=work / "lawn.duckdb",
        model_store=store,
        export_dir=work / "exports",
        report_dir=work / "report",
        raw_dir=raw_dir,
        full_refresh=full_refresh,
        train_if_missing=False,
        action_max_age_days=100,  # the small world's decisions all go out
        dbt_vars=TEST_VARS,
        dbt_target_path=work / "target",
        hash_key=None if key_from_env else TEST_HASH_KEY,
        target=target,
    )


def run_ok(config: NightlyConfig) -> NightlyResult:
    result = run_nightly(config)
    failures = [f"{s.name}: {s.detail}" for s in result.steps if s.status != "ok"]
    assert result.exit_code == 0 and not failures, failures
    return result


def write_two_days(small_data, root: Path) -> tuple[dict[str, Path], dt.date]:
    """Raw Parquet folders for day 1 (received up to the day before the last) and day 2 (all)."""
    raw = small_data.raw["raw_events"]
    received = raw["received_at"].map(parse_utc)
    last_day = received.dropna().dt.date.max()
    day1 = raw[~(received.dt.date >= last_day)]
    folders = {}
    for name, events in (("day1", day1), ("day2", raw)):
        folder = root / name
        folder.mkdir()
        for table, frame in {**small_data.raw, "raw_events": events}.items():
            frame.astype("string").to_parquet(folder / f"{table}.parquet", index=False)
        folders[name] = folder
    assert len(day1) < len(raw)
    return folders, last_day


def _render_all(work: Path, as_of: dt.date | None, out: Path, store: Path) -> dict:
    manifest = work / "target" / "manifest.json"
    return {c: write_cadence_report(work / "lawn.duckdb", c, as_of, out, store, manifest) for c in CADENCES}


def run_nightly_world(two_days, tmp_path_factory) -> dict:
    """The session fixture ``nightly_runs`` (tests_py/conftest.py). A: day 1, then day 2
    incrementally, then day 2 again. B: one full refresh on day 2.
    The identity hash key comes from the environment, as in production (the leak test).
    ``cadence``: the cadence tests' world, A after its first two nights (see the module);
    ``dagster``: a copy of B and of the model store right after B, test_dagster.py's
    `lawn nightly` side (one full refresh of day 2, same options as its Dagster side)."""
    from tests_py.conftest import TEST_HASH_KEY

    folders, last_day = two_days
    store = tmp_path_factory.mktemp("nightly_store")
    save_artefact(store, artefact("v1-test", last_day - dt.timedelta(days=30), intercept=-1.2))
    work_a, work_b = tmp_path_factory.mktemp("nightly_a"), tmp_path_factory.mktemp("nightly_b")
    cadence_root = tmp_path_factory.mktemp("cadence_nightly")
    saved = os.environ.get(ENV_KEY)
    os.environ[ENV_KEY] = TEST_HASH_KEY.secret.decode()
    try:
        a1 = run_ok(nightly_config(work_a, folders["day1"], store, full_refresh=True, key_from_env=True))
        # every cadence rendered for day 1's data day after night 1, and again after night 2
        renders = {"day1": _render_all(work_a, a1.as_of_date, cadence_root / "render_day1", store)}
        a2 = run_ok(nightly_config(work_a, folders["day2"], store, key_from_env=True))
        after_two_days = snapshot(work_a / "lawn.duckdb")
        bandit_after_two_days = bandit_rows(work_a / "lawn.duckdb")
        renders["day2"] = _render_all(work_a, a1.as_of_date, cadence_root / "render_day2", store)
        latest = _render_all(work_a, None, cadence_root / "latest", store)
        cadence_work, cadence_store = cadence_root / "work", cadence_root / "store"
        shutil.copytree(work_a, cadence_work)
        shutil.copytree(store, cadence_store)
        a3 = run_ok(nightly_config(work_a, folders["day2"], store, key_from_env=True))
        b = run_ok(nightly_config(work_b, folders["day2"], store, full_refresh=True, key_from_env=True))
        # test_dagster.py's `lawn nightly` side is this full refresh (same inputs and options)
        dagster_work, dagster_store = cadence_root / "dagster_nightly", cadence_root / "dagster_store"
        shutil.copytree(work_b, dagster_work)
        shutil.copytree(store, dagster_store)
    finally:
        os.environ.pop(ENV_KEY)
        if saved is not None:
            os.environ[ENV_KEY] = saved
    cadence = {"work": cadence_work, "results": [a1, a2], "renders": renders, "latest": latest,
               "store": cadence_store}  # fmt: skip
    dagster = {"nightly": b, "work": dagster_work, "store": dagster_store, "raw_dir": folders["day2"]}
    return {"a": work_a, "b": work_b, "store": store, "runs": (a1, a2, a3, b),
            "after_two_days": after_two_days, "last_day": last_day,
            "bandit_after_two_days": bandit_after_two_days, "cadence": cadence,
            "dagster": dagster}  # fmt: skip
