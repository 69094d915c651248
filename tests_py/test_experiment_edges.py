"""Experiment marts on a hand-written feed shaped like an experimentation tool's exposure
events and a hand-typed registry (tests_py/fixtures/experiment_edges, the story in its
README): crossovers, exposures outside the dates, a holdout later treated, a one-unit arm,
no control arm, a registry without alpha or MDE, guardrails typed with spaces, an
unregistered holdout share. Expectations are recomputed here from the raw rows (pandas,
scipy); `lawn readout` (statsmodels) must agree with the mart for every experiment."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from lawn.readout import UnknownExperimentError, check_readout
from tests_py.conftest import query, run_dbt
from tests_py.fixture_feeds import FIXTURES, read_csv

FEED = FIXTURES / "experiment_edges"
SELECT = [
    "build",
    "--select",
    "+fct_experiment_readouts",
    "+dim_experiments",
    "+fct_experiment_assignments",
    "+fct_experiment_unit_metrics",
    "+fct_quarantined_events",
    "assert_experiment_metrics_match_the_unit",
    "assert_experiment_exposures_have_a_unit",
    "--indirect-selection",
    "cautious",
    "--exclude-resource-type",
    "unit_test",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    work = tmp_path_factory.mktemp("build_experiment_edges")
    db_path = work / "lawn.duckdb"
    # raises (naming the failing node) when any model or data test errors
    result = run_dbt(SELECT, db_path, work, raw_dir=FEED)
    return db_path, result.stdout


@pytest.fixture(scope="module")
def exposures() -> pd.DataFrame:
    events = read_csv(FEED / "raw_events.csv")
    exposed = events[events["event_name"] == "experiment_exposed"].copy()
    props = exposed["properties"].map(json.loads)
    exposed["experiment_id"] = props.map(lambda p: p["experiment_id"])
    exposed["variant"] = props.map(lambda p: p["variant"])
    exposed["at"] = pd.to_datetime(exposed["occurred_at"], utc=True).dt.tz_localize(None)
    # the anonymous visitor anon_9 signs up as uanon (identity stitching, docs/identity.md)
    exposed["who"] = exposed["user_id"].fillna(exposed["anonymous_id"].replace({"anon_9": "uanon"}))
    return exposed


@pytest.fixture(scope="module")
def registry() -> pd.DataFrame:
    frame = read_csv(FEED / "experiment_registry.csv")
    frame["experiment_id"] = frame["experiment_id"].str.strip()
    return frame.set_index("experiment_id")


def _expected_assignments(exposures: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """Per experiment and unit: excluded when it saw two variants (at any time) or only
    exposures outside the registered days; else the variant and time of its first exposure
    inside them. Variants outside the tracking plan (`Treatment`, ` control `) are
    quarantined, so they are no exposure."""
    valid = exposures[exposures["variant"].isin(["control", "treatment", "holdout"])]
    valid = valid[valid["experiment_id"].isin(registry.index)]
    account_unit = (
        valid["experiment_id"].map(registry["randomization_unit"].str.strip().str.lower()) == "account"
    )
    valid = valid[~(account_unit & valid["account_id"].isna())]  # no unit: warned, not assigned
    rows = []
    for (experiment, who), group in valid.groupby(["experiment_id", "who"]):
        unit = registry.loc[experiment, "randomization_unit"].strip().lower()
        start, end = (pd.Timestamp(registry.loc[experiment, column]) for column in ("start_date", "end_date"))
        inside = group[(group["at"].dt.normalize() >= start) & (group["at"].dt.normalize() <= end)]
        first = inside.sort_values(["at", "event_id"]).head(1)
        reason = (
            "multiple_variants"
            if group["variant"].nunique() > 1
            else ("outside_experiment_dates" if first.empty else None)
        )
        rows.append(
            {
                "experiment_id": experiment,
                "who": who if unit == "user" else group["account_id"].iloc[0],
                "variant": None if first.empty else first["variant"].iloc[0],
                "first_exposed_at": None if first.empty else first["at"].iloc[0],
                "exclusion_reason": reason,
            }
        )
    return pd.DataFrame(rows)


def test_assignments_follow_the_exposures(built, exposures, registry):
    db_path, _ = built
    expected = _expected_assignments(exposures, registry)
    mart = query(
        db_path,
        "select experiment_id, variant, first_exposed_at, exclusion_reason, is_included"
        " from marts.fct_experiment_assignments",
    )
    key = ["experiment_id", "variant", "exclusion_reason"]
    assert (
        mart.fillna("-").groupby(key).size().to_dict() == expected.fillna("-").groupby(key).size().to_dict()
    )
    assert mart["is_included"].sum() == expected["exclusion_reason"].isna().sum()
    # the unit exposed before the start and again inside counts from the inside exposure
    inside = expected[(expected["who"] == "uboth")]["first_exposed_at"].iloc[0]
    assert inside in set(mart["first_exposed_at"])
    # variants outside the plan are quarantined with a reason, not lost
    quarantined = query(db_path, "select event_id, reason_codes from marts.fct_quarantined_events")
    assert dict(zip(quarantined["event_id"], quarantined["reason_codes"], strict=True)) == {
        "ucase-x": "VALUE_NOT_ALLOWED",
        "uws-x": "VALUE_NOT_ALLOWED",
    }


def test_guardrails_typed_with_spaces_are_read(built, exposures, registry):
    """`error_rate | activated_7d |`: spaces and a trailing separator (a spreadsheet's), whose
    empty item staging ignores as the gate does; the build's registry check
    (assert_experiment_metrics_cover_the_registry) ran in `built` and passed."""
    db_path, _ = built
    metrics = query(
        db_path,
        "select metric_name, count(*) as units from marts.fct_experiment_unit_metrics"
        " where experiment_id = 'exp_user' group by metric_name",
    )
    included = _expected_assignments(exposures, registry)
    included = included[(included["experiment_id"] == "exp_user") & included["exclusion_reason"].isna()]
    assert dict(zip(metrics["metric_name"], metrics["units"], strict=True)) == {
        name: len(included) for name in ("support_tickets_per_user", "error_rate", "activated_7d")
    }


def test_primary_metric_values_equal_a_recount(built, exposures, registry):
    db_path, _ = built
    events = read_csv(FEED / "raw_events.csv")
    events["at"] = pd.to_datetime(events["occurred_at"], utc=True).dt.tz_localize(None)
    tickets = events[events["event_name"] == "support_ticket_created"]
    assigned = _expected_assignments(exposures, registry)
    assigned = assigned[(assigned["experiment_id"] == "exp_user") & assigned["exclusion_reason"].isna()]
    window = pd.Timedelta(days=28)
    expected = sorted(
        int(((tickets["user_id"] == who) & (tickets["at"] >= at) & (tickets["at"] < at + window)).sum())
        for who, at in zip(assigned["who"], assigned["first_exposed_at"], strict=True)
    )
    mart = query(
        db_path,
        "select metric_value from marts.fct_experiment_unit_metrics"
        " where experiment_id = 'exp_user' and metric_name = 'support_tickets_per_user'",
    )
    assert sorted(mart["metric_value"].astype(int)) == expected


def test_sample_ratio_and_optional_registry_fields(built, exposures, registry):
    db_path, _ = built
    assigned = _expected_assignments(exposures, registry)
    assigned = assigned[assigned["exclusion_reason"].isna()]
    readouts = query(db_path, "select * from marts.fct_experiment_readouts")
    for experiment, group in assigned.groupby("experiment_id"):
        holdout = registry.loc[experiment, "holdout_share"]
        share = 0.0 if pd.isna(holdout) else float(holdout)  # empty: no holdout
        arms = {"control": (1 - share) / 2, "treatment": (1 - share) / 2}
        arms |= {"holdout": share} if share else {}
        observed = [int((group["variant"] == arm).sum()) for arm in arms]
        expected = [value * sum(observed) for value in arms.values()]
        # units in an arm with no registered share: expected 0, a certain mismatch
        unregistered = (~group["variant"].isin(list(arms))).any()
        p_value = 0.0 if unregistered else stats.chisquare(observed, expected).pvalue
        published = readouts.loc[readouts["experiment_id"] == experiment, "srm_p_value"]
        assert published.to_numpy() == pytest.approx([p_value] * len(published), abs=1e-9), experiment
    # registered without alpha or MDE: read at 0.05, always-valid interval from 10% of control
    noalpha = readouts[readouts["experiment_id"] == "exp_noalpha"]
    row = noalpha[noalpha["variant"] == "treatment"].iloc[0]
    assert row["alpha"] == 0.05 and bool(row["is_significant"]) == (row["p_value"] < 0.05)
    assert row["sequential_tau"] == pytest.approx(0.1 * row["control_estimate"], abs=1e-12)
    assert math.isfinite(row["sequential_p_value"])
    # a holdout arm the registry does not declare is a sample-ratio mismatch
    hidden = readouts[readouts["experiment_id"] == "exp_hidden_holdout"]
    assert (hidden["srm_p_value"] == 0).all() and not hidden["is_trustworthy"].any()


def test_lawn_readout_agrees_with_every_mart(built):
    db_path, stdout = built
    # empty holdout_share, a one-unit holdout arm, no control arm, no alpha or MDE: each
    # used to disagree with (or crash on) a correct mart
    for experiment in ("exp_user", "exp_acct", "exp_noalpha", "exp_9010", "exp_hidden_holdout"):
        check = check_readout(db_path, experiment, 1e-6, 0.1)
        assert check.agrees, (experiment, check.problems)
    # a user experiment naming an account metric has no unit rows: warned, not silent
    assert "WARN 1 assert_experiment_metrics_match_the_unit" in stdout
    # an account experiment's exposure without an account: not assignable, warned
    assert "WARN 1 assert_experiment_exposures_have_a_unit" in stdout
    # ...and `lawn readout` says why, not "yet" (the windows are long over)
    with pytest.raises(UnknownExperimentError, match="randomises users but its primary metric") as error:
        check_readout(db_path, "exp_mismatch", 1e-6, 0.1)
    assert "is measured on accounts" in str(error.value) and "yet" not in str(error.value)
