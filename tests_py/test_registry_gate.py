"""The raw gate refuses an experiment registry that the build would fail on, one line naming
the row: an unknown randomisation unit, a metric the catalog lacks, an alpha out of range.

Before, such a registry passed `lawn validate-raw` and the build then failed (exit 1) on a
data test of `stg_experimentation__experiments` or `assert_experiment_metrics_cover_the_registry`
after building everything upstream. The registries below are written by hand, the way a
spreadsheet exports them; the gate's rules are checked against the staging tests they restate
(the value set and the interval in the model's YAML, the catalog seed), so the two cannot
drift apart."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lawn.cli import app
from lawn.contract import EXPERIMENT_METRIC_CATALOG, EXPERIMENT_REGISTRY, catalog_ids
from lawn.contract_doc import render_markdown
from lawn.paths import REPO_ROOT, SEEDS_DIR

runner = CliRunner()

_EVENTS = (
    "event_id,event_name,schema_version,source,occurred_at,received_at,anonymous_id,user_id,"
    "account_id,email,device_id,properties\n"
    'p1,page_viewed,1,web,2026-03-01T10:00:00Z,2026-03-01T10:00:01Z,anon_1,,,,,"{""page_path"":""/""}"\n'
)
_HEADER = "experiment_id,randomization_unit,primary_metric,guardrail_metrics,alpha,start_date,end_date\n"
_ALPHA = "not strictly between 0 and 0.5"
_REPEAT = "naming one id twice or repeating primary_metric"
_GOOD = "e_ok,user,activated_7d,support_tickets_per_user|error_rate,0.05,2026-03-01,2026-03-31\n"


def _gate(tmp_path: Path, *rows: str):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "raw_events.csv").write_text(_EVENTS)
    (raw / "experiment_registry.csv").write_text(_HEADER + "".join(rows))
    return raw, runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])


@pytest.mark.parametrize(
    "row",
    [
        # letter case and spaces as staging reads them; percents; an empty guardrail list
        "e2, Account ,trial_converted,,5%,2026-03-01,2026-03-31\n",
        "e2,USER,activated_7d, error_rate | support_tickets_per_user ,1 %,2026-03-01,2026-03-31\n",
        "e2,user, activated_7d ,|error_rate|,,2026-03-01,2026-03-31\n",
        "e2,user,activated_7d,error_rate||support_tickets_per_user|,,2026-03-01,2026-03-31\n",
        "e2,user,activated_7d,,0.499,2026-03-01,2026-03-31\n",
        "e2,user,activated_7d,,0.05,2026-03-01,2026-03-01\n",  # a one-day experiment
    ],
)
def test_what_staging_reads_passes(tmp_path, row):
    _, result = _gate(tmp_path, _GOOD, row)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("row", "column", "value", "wording"),
    [
        ("e2,session,activated_7d,,0.05,2026-03-01,2026-03-31\n", "randomization_unit", "session",
         "not user or account"),
        ("e2,account,revenue,,0.05,2026-03-01,2026-03-31\n", "primary_metric", "revenue",
         "not in seeds/metrics/experiment_metrics.csv"),
        # a LIKE with `_` as a wildcard would have accepted this one
        ("e2,user,activatedX7d,,0.05,2026-03-01,2026-03-31\n", "primary_metric", "activatedX7d",
         "not in seeds/metrics/experiment_metrics.csv"),
        ("e2,user,activated_7d,error_rate | nps_score,0.05,2026-03-01,2026-03-31\n", "guardrail_metrics",
         "nps_score", "not in seeds/metrics/experiment_metrics.csv"),
        # the build's check counts the ids a list names: a repeat would fail it
        ("e2,user,activated_7d,error_rate|error_rate,0.05,2026-03-01,2026-03-31\n", "guardrail_metrics",
         "error_rate|error_rate", _REPEAT),
        ("e2,user,activated_7d,trial_converted | activated_7d,0.05,2026-03-01,2026-03-31\n",
         "guardrail_metrics", "trial_converted | activated_7d", _REPEAT),
        ("e2,user,activated_7d,,0.7,2026-03-01,2026-03-31\n", "alpha", "0.7", _ALPHA),
        # ends before it starts: no exposure window, every mart of it empty
        ("e2,user,activated_7d,,0.05,2026-03-31,2026-03-01\n", "end_date", "2026-03-01",
         "before start_date"),
        ("e2,user,activated_7d,,50%,2026-03-01,2026-03-31\n", "alpha", "50%", _ALPHA),
        ("e2,user,activated_7d,,0,2026-03-01,2026-03-31\n", "alpha", "0", _ALPHA),
    ],
)  # fmt: skip
def test_what_the_build_would_fail_on_is_refused_naming_the_row(tmp_path, row, column, value, wording):
    raw, result = _gate(tmp_path, _GOOD, row, _GOOD.replace("e_ok", "e3"))
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    [line] = lines
    assert str(raw / "experiment_registry.csv") in line and f"'{column}'" in line and wording in line
    assert "has 1 value(s)" in line and "data row 2" in line and repr(value) in line
    assert "Traceback" not in result.output


def test_the_count_and_the_first_row_are_the_whole_files(tmp_path):
    bad = "e{n},team,activated_7d,,0.05,2026-03-01,2026-03-31\n"
    _, result = _gate(tmp_path, _GOOD, bad.format(n=2), _GOOD.replace("e_ok", "e3"), bad.format(n=4))
    assert result.exit_code == 2
    assert "has 2 value(s) that are not user or account" in result.output
    assert "first at data row 2: 'team'" in result.output


def _staging_rules() -> dict[str, dict]:
    """The staging model's value rules (its `value_rules` test), by column."""
    path = REPO_ROOT / "models" / "staging" / "experimentation" / "_experimentation__models.yml"
    [model] = yaml.safe_load(path.read_text())["models"]
    [rules] = [
        test["value_rules"]["arguments"]["rules"] for test in model["data_tests"] if "value_rules" in test
    ]
    return {rule["column"]: rule for rule in rules}


def test_the_gate_restates_the_staging_tests():
    """The set and the interval are the ones the staging model's tests apply, and the catalog
    is the seed assert_experiment_metrics_cover_the_registry reads."""
    rules = _staging_rules()
    units = EXPERIMENT_REGISTRY.column("randomization_unit").one_of
    assert set(rules["randomization_unit"]["in_set"]) == set(units)
    for name in ("alpha", "power"):
        bounds = rules[name]
        assert bounds["strictly"] is True
        assert (bounds["min_value"], bounds["max_value"]) == EXPERIMENT_REGISTRY.column(name).open_interval
    holdout = rules["holdout_share"]
    assert holdout["strictly"] == "max"  # [0, 1): no holdout is 0, all held out is no experiment
    assert (holdout["min_value"], holdout["max_value"]) == EXPERIMENT_REGISTRY.column(
        "holdout_share"
    ).half_open_interval
    singular = (REPO_ROOT / "tests" / "assert_experiment_metrics_cover_the_registry.sql").read_text()
    assert "ref('experiment_metrics')" in singular and "metric_name" in singular
    seed, column = EXPERIMENT_METRIC_CATALOG
    assert Path(seed).stem == "experiment_metrics"
    with (SEEDS_DIR / seed).open(newline="") as handle:
        assert set(catalog_ids(EXPERIMENT_METRIC_CATALOG)) == {row[column] for row in csv.DictReader(handle)}
    for name in ("primary_metric", "guardrail_metrics"):
        assert EXPERIMENT_REGISTRY.column(name).names_in == EXPERIMENT_METRIC_CATALOG


def test_the_contract_page_states_the_rules():
    page = render_markdown()
    assert "one of `user`, `account` (any letter case)" in page
    assert "strictly between 0 and 0.5" in page
    assert "at least 0 and below 1" in page  # holdout_share
    assert "each id in `seeds/metrics/experiment_metrics.csv` (`metric_name`)" in page
    assert "no id twice, none equal to `primary_metric`; empty items ignored" in page
    assert "not before `start_date`" in page
    assert page == (REPO_ROOT / "docs" / "bring_your_own_data.md").read_text()


_SHARES_HEADER = "experiment_id,randomization_unit,primary_metric,power,holdout_share,start_date,end_date\n"
_SHARES_GOOD = "e_ok,account,trial_converted,0.8,0.1,2026-03-01,2026-03-31\n"


@pytest.mark.parametrize(
    ("power", "holdout", "passes"),
    [
        ("0.8", "0", True), ("80%", "10%", True), ("", "", True), ("0.9", "0.999", True),
        # 10 % typed without its sign: the build's sample-ratio test failed after landing and
        # skipped every readout (a chi-square of -46.7, a p-value of 1.4e10)
        ("0.8", "10", False), ("0.8", "-0.1", False), ("0.8", "1", False), ("0.8", "150%", False),
        ("1.5", "0.1", False), ("0", "0.1", False),
    ],
)  # fmt: skip
def test_power_and_holdout_share_are_shares(tmp_path, power, holdout, passes):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "raw_events.csv").write_text(_EVENTS)
    row = f"e2,account,trial_converted,{power},{holdout},2026-03-01,2026-03-31\n"
    (raw / "experiment_registry.csv").write_text(_SHARES_HEADER + _SHARES_GOOD + row)
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    if passes:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("error:")]
    column, wording = (
        ("power", "not strictly between 0 and 1")
        if power in ("1.5", "0")
        else ("holdout_share", "not at least 0 and below 1 (a share: 0.1 or 10%)")
    )
    assert f"'{column}'" in line and wording in line and "data row 2" in line, line
    assert "Traceback" not in result.output
