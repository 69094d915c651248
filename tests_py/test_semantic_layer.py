"""The MetricFlow semantic layer (`mf query`) agrees with the marts it is defined on."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from lawn.dbt_runner import run_dbt
from lawn.paths import REPO_ROOT, dbt_command
from tests_py.conftest import query


def _mf_command() -> list[str]:
    found = shutil.which("mf") or str(Path(dbt_command()[0]).with_name("mf"))
    return [found]


@pytest.fixture(scope="module")
def mf(built_small, tmp_path_factory):
    """Run `mf query` against the small build; returns a function metrics, group_by -> DataFrame."""
    env = dict(os.environ, LAWN_DUCKDB_PATH=str(built_small))
    # MetricFlow reads <project>/target/semantic_manifest.json: write it with dbt parse
    parsed = run_dbt(["parse", "--quiet"], built_small)
    assert parsed.returncode == 0, parsed.stdout[-3000:]
    out_dir = tmp_path_factory.mktemp("mf")

    def run(metrics: str, group_by: str | None = None) -> pd.DataFrame:
        out = out_dir / f"{metrics.replace(',', '_')}_{group_by}.csv"
        command = [*_mf_command(), "query", "--metrics", metrics, "--csv", str(out)]
        if group_by:
            command += ["--group-by", group_by]
        result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        assert result.returncode == 0 and out.exists(), result.stdout[-3000:] + result.stderr[-3000:]
        return pd.read_csv(out)

    return run


def test_activation_rate_by_segment_equals_fct_activation(mf, built_small):
    semantic = mf("activation_rate", "account__segment").set_index("account__segment")
    mart = query(
        built_small,
        "select segment, avg(case when is_reached_in_window then 1.0 else 0.0 end) as rate "
        "from marts.fct_activation where milestone_name = 'first_invoice_sent' and is_window_complete "
        "group by segment",
    ).set_index("segment")
    assert sorted(semantic.index) == sorted(mart.index)
    for segment in mart.index:
        assert semantic.loc[segment, "activation_rate"] == pytest.approx(mart.loc[segment, "rate"])


def test_user_activation_and_trial_conversion_equal_the_marts(mf, built_small):
    semantic = mf("user_activation_rate,trial_conversion_rate")
    mart = query(
        built_small,
        "select milestone_name, avg(case when is_reached_in_window then 1.0 else 0.0 end) as rate "
        "from marts.fct_activation where is_window_complete group by milestone_name",
    ).set_index("milestone_name")
    assert semantic.loc[0, "user_activation_rate"] == pytest.approx(mart.loc["user_created_invoice", "rate"])
    assert semantic.loc[0, "trial_conversion_rate"] == pytest.approx(mart.loc["first_paid_14d", "rate"])


def test_mrr_and_revenue_retention_by_month_equal_the_marts(mf, built_small):
    semantic = mf("mrr,net_revenue_retention,gross_revenue_retention", "metric_time__month")
    semantic["month"] = pd.to_datetime(semantic["metric_time__month"]).dt.date
    semantic = semantic.set_index("month").sort_index()
    mrr = query(built_small, "select month_start, sum(mrr_usd) as mrr from marts.fct_mrr group by 1")
    retention = query(
        built_small,
        "select month_start, sum(retained_mrr_usd) / sum(starting_mrr_usd) as nrr, "
        "sum(starting_mrr_usd - contraction_mrr_usd - churned_mrr_usd) / sum(starting_mrr_usd) as grr "
        "from marts.fct_revenue_retention group by 1 having sum(starting_mrr_usd) > 0",
    )
    for frame in (mrr, retention):
        frame["month"] = pd.to_datetime(frame["month_start"]).dt.date
    mrr, retention = mrr.set_index("month"), retention.set_index("month")
    assert sorted(mrr.index) == list(semantic.index)
    for month in mrr.index:
        assert semantic.loc[month, "mrr"] == pytest.approx(float(mrr.loc[month, "mrr"]))
    for month in retention.index:
        assert semantic.loc[month, "net_revenue_retention"] == pytest.approx(
            float(retention.loc[month, "nrr"])
        )
        assert semantic.loc[month, "gross_revenue_retention"] == pytest.approx(
            float(retention.loc[month, "grr"])
        )
    # over all months MRR is not additive: the semantic layer takes the last month's
    assert mf("mrr").loc[0, "mrr"] == pytest.approx(float(mrr.loc[max(mrr.index), "mrr"]))


def test_cac_by_channel_equals_fct_cac_payback(mf, built_small):
    semantic = mf("cac", "acquisition__channel").set_index("acquisition__channel")
    mart = query(
        built_small,
        "select acquisition_channel, sum(spend_usd) / nullif(sum(new_customers), 0) as cac "
        "from marts.fct_cac_payback group by 1",
    ).set_index("acquisition_channel")
    for channel in mart.index:
        expected = mart.loc[channel, "cac"]
        if pd.isna(expected):
            assert pd.isna(semantic.loc[channel, "cac"]) if channel in semantic.index else True
        else:
            assert semantic.loc[channel, "cac"] == pytest.approx(float(expected))
