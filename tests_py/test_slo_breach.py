"""An activation incident planted on one platform is caught by the SLO mart and the
root-cause model ranks that platform first; the same world without it passes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from lawn.generator import GeneratorConfig, PlantedBreach, generate
from lawn.generator.writers import write_generated
from tests_py.conftest import query, run_dbt

# 120 days; the SLO's latest 28-day window ends about a week before the end, so an incident
# from day 86 covers the current window and leaves the baseline window before it clean
BREACH = PlantedBreach(platform="ios", start_day=86, activation_factor=0.0)
WORLD = {"seed": 11, "accounts": 200, "days": 120}


def _build(tmp_path_factory, name: str, breach: PlantedBreach | None) -> Path:
    root = tmp_path_factory.mktemp(name)
    write_generated(
        generate(GeneratorConfig(**WORLD, breach=breach)), root / "raw", root / "truth", "parquet"
    )
    run_dbt(
        ["build", "--full-refresh", "--select", "+fct_slo_root_causes", "--indirect-selection", "cautious"],
        root / "lawn.duckdb",
        root,
        raw_dir=root / "raw",
    )
    return root / "lawn.duckdb"


@pytest.fixture(scope="module")
def with_incident(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, "incident", BREACH)


@pytest.fixture(scope="module")
def without_incident(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, "no_incident", None)


def _latest(db: Path) -> pd.Series:
    return query(
        db, "select * from marts.fct_slo_status where slo_id = 'user_activation_7d' and is_latest"
    ).iloc[0]


def test_the_incident_breaches_the_activation_slo(with_incident):
    latest = _latest(with_incident)
    assert latest["status"] == "breach"
    assert latest["metric_value"] < latest["threshold"] <= latest["baseline_value"]
    start = GeneratorConfig(**WORLD).start_date + dt.timedelta(days=BREACH.start_day)
    before = query(
        with_incident,
        "select status from marts.fct_slo_status where slo_id = 'user_activation_7d' "
        f"and evaluated_date = date '{start - dt.timedelta(days=1)}'",
    )
    assert before["status"].tolist() == ["pass"]


def test_root_cause_ranks_the_platform_first(with_incident):
    causes = query(
        with_incident,
        "select * from marts.fct_slo_root_causes where slo_id = 'user_activation_7d' order by adverse_rank",
    )
    top = causes.iloc[0]
    assert (top["dimension_name"], top["dimension_value"]) == ("platform", BREACH.platform)
    assert top["current_rate"] == 0 and top["baseline_rate"] > 0.2
    assert top["rate_change_z"] < -4
    # nothing else moved anything like it: the runner-up's z is at most 2/3 of the cause's
    assert causes.iloc[1]["rate_change_z"] > top["rate_change_z"] * 2 / 3


def test_without_the_incident_the_slo_passes(without_incident):
    latest = _latest(without_incident)
    assert latest["status"] == "pass"
    ios = query(
        without_incident,
        "select current_rate from marts.fct_slo_root_causes where slo_id = 'user_activation_7d' "
        "and dimension_name = 'platform' and dimension_value = 'ios'",
    )
    assert ios["current_rate"].iloc[0] > 0.2
