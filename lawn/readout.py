"""An experiment's readout recomputed in Python (statsmodels, scipy, numpy) from the
unit-level mart, and compared with fct_experiment_readouts.

The definitions are the mart's (see its SQL and the README); only the implementations
differ: statsmodels' two-proportion z-test and Wald interval, its Welch t-test and
interval, its Benjamini-Hochberg adjustment, scipy's chi-square test, and numpy for the
delta method, CUPED and the mixture-SPRT interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from lawn.contract import experiment_metric_catalog

# below dbt var experiment_min_welch_df a Welch test reports no p-value or interval
from lawn.settings import DEFAULT_ALPHA, MIN_WELCH_DF
from lawn.warehouse import table_exists

Z_975 = stats.norm.ppf(0.975)
COMPARED = [
    "units",
    "estimate",
    "variance",
    "absolute_lift",
    "standard_error",
    "test_statistic",
    "degrees_of_freedom",
    "ci_low",
    "ci_high",
    "p_value",
    "p_value_bh",
    "cuped_theta",
    "cuped_lift",
    "cuped_ci_low",
    "cuped_ci_high",
    "cuped_p_value",
    "sequential_ci_low",
    "sequential_ci_high",
    "sequential_p_value",
    "srm_p_value",
]


class UnknownExperimentError(ValueError):
    """The experiment is not in the registry (or has no readout yet)."""


REGISTRY = "marts.dim_experiments"


def registry_entry(db_path: Path, experiment_id: str) -> pd.Series:
    """The experiment's (or automation holdout's) row of the published registry,
    marts.dim_experiments; an unknown id raises UnknownExperimentError naming the known ones."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        schema, table = REGISTRY.split(".")
        if not table_exists(con, schema, table):
            raise UnknownExperimentError(f"no {REGISTRY} in {db_path}: run `lawn build` first")
        registry = con.execute(f"select * from {REGISTRY} where experiment_id = ?", [experiment_id]).df()
        if registry.empty:
            known = [row[0] for row in con.execute(f"select experiment_id from {REGISTRY}").fetchall()]
            raise UnknownExperimentError(f"unknown experiment {experiment_id!r}; registered: {sorted(known)}")
    return registry.iloc[0]


def _why_no_units(registry: pd.Series, assignments: pd.DataFrame, experiment_id: str) -> str:
    """Why an experiment has no unit metric: a metric measured on another unit than the one
    randomised (the build only warns: assert_experiment_metrics_match_the_unit), no included
    unit, or windows not over yet."""
    unit = str(registry["randomization_unit"])
    measured_on = {name: row["unit_type"] for name, row in experiment_metric_catalog().items()}
    metric = str(registry["primary_metric"])
    if measured_on.get(metric, unit) != unit:
        return (
            f"experiment {experiment_id!r} randomises {unit}s but its primary metric {metric!r} is "
            f"measured on {measured_on[metric]}s (seeds/metrics/experiment_metrics.csv): it can have "
            f"no readout; register a {unit} metric"
        )
    if assignments.empty:
        return f"experiment {experiment_id!r} has no included unit (no exposure inside its dates)"
    return f"experiment {experiment_id!r} has no unit with an observable metric yet (windows not over)"


def load_inputs(db_path: Path, experiment_id: str) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Observable unit metrics, the registry row, and the included assignments (marts only)."""
    registry = registry_entry(db_path, experiment_id)
    with duckdb.connect(str(db_path), read_only=True) as con:
        units = con.execute(
            "select * from marts.fct_experiment_unit_metrics where experiment_id = ? and is_observable",
            [experiment_id],
        ).df()
        assignments = con.execute(
            "select variant from marts.fct_experiment_assignments where experiment_id = ? and is_included",
            [experiment_id],
        ).df()
    return units, registry, assignments


def sample_ratio_p_value(assignments: pd.DataFrame, holdout_share: float) -> float:
    if not math.isfinite(holdout_share):
        holdout_share = 0.0  # optional in the registry: none registered is no holdout (as the mart)
    shares = {"control": (1 - holdout_share) / 2, "treatment": (1 - holdout_share) / 2}
    if holdout_share > 0:
        shares["holdout"] = holdout_share
    counts = assignments["variant"].value_counts()
    if counts.drop(list(shares), errors="ignore").sum() > 0:
        return 0.0  # units in an arm with no registered share: expected 0, a certain mismatch
    observed = np.array([counts.get(variant, 0) for variant in shares], dtype=float)
    expected = np.array(list(shares.values())) * observed.sum()
    return float(stats.chisquare(observed, expected).pvalue)


def _arm(frame: pd.DataFrame, metric_type: str) -> dict:
    y, x = frame["metric_value"].to_numpy(float), frame["denominator_value"].to_numpy(float)
    n = len(frame)
    if metric_type == "ratio":
        ratio = y.sum() / x.sum()
        cov = np.cov(y, x, ddof=1)
        variance = (cov[0, 0] - 2 * ratio * cov[0, 1] + ratio**2 * cov[1, 1]) / x.mean() ** 2
        return {"units": n, "estimate": ratio, "variance": variance}
    mean = y.mean()
    variance = mean * (1 - mean) if metric_type == "proportion" else y.var(ddof=1)
    return {"units": n, "estimate": mean, "variance": variance}


def _cuped(treated: pd.DataFrame, control: pd.DataFrame) -> dict:
    both = pd.concat([treated, control])
    y, x = both["metric_value"].to_numpy(float), both["pre_value"].to_numpy(float)
    var_x = x.var(ddof=1)
    theta = float(np.cov(y, x, ddof=1)[0, 1] / var_x) if var_x > 1e-12 else 0.0
    lift = (treated["metric_value"].mean() - control["metric_value"].mean()) - theta * (
        treated["pre_value"].mean() - control["pre_value"].mean()
    )
    adjusted_var = [
        (arm["metric_value"] - theta * arm["pre_value"]).var(ddof=1) / len(arm) if len(arm) else np.nan
        for arm in (treated, control)
    ]
    se = math.sqrt(sum(adjusted_var))
    if not se > 1e-12:  # also nan: an arm of one unit, or no control arm
        return {
            "cuped_theta": theta,
            "cuped_lift": lift,
            "cuped_ci_low": np.nan,
            "cuped_ci_high": np.nan,
            "cuped_p_value": np.nan,
        }
    return {
        "cuped_theta": theta,
        "cuped_lift": lift,
        "cuped_ci_low": lift - Z_975 * se,
        "cuped_ci_high": lift + Z_975 * se,
        "cuped_p_value": 2 * stats.norm.sf(abs(lift / se)),
    }


def _sequential(lift: float, se: float, tau: float, alpha: float) -> dict:
    v, t2 = se**2, tau**2
    # no interval without a variance (one unit in an arm), a mixture sd (no registered MDE)
    # or alpha: the mart leaves these null (min(1.0, nan) would have said p = 1)
    if not all(math.isfinite(value) for value in (v, t2, alpha)) or v == 0 or t2 == 0:
        return {"sequential_ci_low": np.nan, "sequential_ci_high": np.nan, "sequential_p_value": np.nan}
    half = math.sqrt(v * (v + t2) / t2 * (math.log((v + t2) / v) - 2 * math.log(alpha)))
    p = min(1.0, math.sqrt((v + t2) / v) * math.exp(-t2 * lift**2 / (2 * v * (v + t2))))
    return {"sequential_ci_low": lift - half, "sequential_ci_high": lift + half, "sequential_p_value": p}


def compare_arms(treated: pd.DataFrame, control: pd.DataFrame, metric_type: str) -> dict:
    """Lift, interval, test statistic and p-value of ``treated`` against ``control``."""
    arm = _arm(treated, metric_type)
    if control.empty:
        # no control arm (e.g. treatment and holdout only): nothing to compare with, as the mart
        nothing = dict.fromkeys(["absolute_lift", "standard_error", "test_statistic", "p_value"], np.nan)
        return {**arm, **nothing, "degrees_of_freedom": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    base = _arm(control, metric_type)
    lift = arm["estimate"] - base["estimate"]
    se = math.sqrt(arm["variance"] / arm["units"] + base["variance"] / base["units"])
    row = {**arm, "absolute_lift": lift, "standard_error": se, "degrees_of_freedom": np.nan}
    pooled = (treated["metric_value"].sum() + control["metric_value"].sum()) / (len(treated) + len(control))
    if se <= 1e-12 or (metric_type == "proportion" and pooled in (0.0, 1.0)):
        # no variation: no test (the mart leaves these null too)
        row.update(test_statistic=np.nan, p_value=np.nan, ci_low=np.nan, ci_high=np.nan)
        return row
    if metric_type == "proportion":
        successes = [treated["metric_value"].sum(), control["metric_value"].sum()]
        statistic, p_value = proportions_ztest(successes, [len(treated), len(control)])
        low, high = confint_proportions_2indep(
            successes[0], len(treated), successes[1], len(control), method="wald", compare="diff"
        )
    elif metric_type == "mean":
        means = CompareMeans(DescrStatsW(treated["metric_value"]), DescrStatsW(control["metric_value"]))
        statistic, p_value, df = means.ttest_ind(usevar="unequal")
        low, high = means.tconfint_diff(usevar="unequal")
        row["degrees_of_freedom"] = df
        if df < MIN_WELCH_DF:
            p_value, low, high = np.nan, np.nan, np.nan
    else:
        statistic = lift / se
        p_value = 2 * stats.norm.sf(abs(statistic))
        low, high = lift - Z_975 * se, lift + Z_975 * se
    row.update(
        test_statistic=float(statistic), p_value=float(p_value), ci_low=float(low), ci_high=float(high)
    )
    return row


def recompute_readout(
    units: pd.DataFrame, registry: pd.Series, assignments: pd.DataFrame, tau_relative: float
) -> pd.DataFrame:
    """The readout rows (variant x metric, control excluded) computed in Python."""
    srm = sample_ratio_p_value(assignments, float(registry["holdout_share"]))
    rows = []
    for (metric, metric_type), frame in units.groupby(["metric_name", "metric_type"]):
        control = frame[frame["variant"] == "control"]
        for variant, treated in frame[frame["variant"] != "control"].groupby("variant"):
            row = {"variant": variant, "metric_name": metric, **compare_arms(treated, control, metric_type)}
            if metric_type != "ratio":
                row.update(_cuped(treated, control))
            mde = float(registry["minimum_detectable_effect"])  # optional: nan when not registered
            tau = (
                mde
                if metric == registry["primary_metric"] and math.isfinite(mde)
                else tau_relative * abs(_arm(control, metric_type)["estimate"])
            )
            alpha = float(registry["alpha"])
            alpha = alpha if math.isfinite(alpha) else DEFAULT_ALPHA
            row.update(_sequential(row["absolute_lift"], row["standard_error"], tau, alpha))
            row["srm_p_value"] = srm
            rows.append(row)
    readout = pd.DataFrame(rows)
    readout["p_value_bh"] = np.nan
    for _variant, group in readout.groupby("variant"):
        tested = group[group["p_value"].notna()]
        if len(tested):
            readout.loc[tested.index, "p_value_bh"] = multipletests(tested["p_value"], method="fdr_bh")[1]
    return readout.sort_values(["variant", "metric_name"]).reset_index(drop=True)


def mart_readout(db_path: Path, experiment_id: str) -> pd.DataFrame:
    with duckdb.connect(str(db_path), read_only=True) as con:
        frame = con.execute(
            "select * from marts.fct_experiment_readouts where experiment_id = ? and variant <> 'control'",
            [experiment_id],
        ).df()
    return frame.sort_values(["variant", "metric_name"]).reset_index(drop=True)


def disagreements(mart: pd.DataFrame, python: pd.DataFrame, tolerance: float = 1e-6) -> list[str]:
    """Every (variant, metric, column) where the mart and Python differ by more than ``tolerance``."""
    problems = []
    keys = ["variant", "metric_name"]
    if mart[keys].values.tolist() != python[keys].values.tolist():
        return [f"different rows: mart {mart[keys].values.tolist()} vs python {python[keys].values.tolist()}"]
    for column in COMPARED:
        for index in range(len(mart)):
            left = mart.loc[index, column]
            right = python.loc[index, column] if column in python else np.nan
            left = np.nan if left is None or pd.isna(left) else float(left)
            right = np.nan if right is None or pd.isna(right) else float(right)
            if np.isnan(left) and np.isnan(right):
                continue
            if np.isnan(left) or np.isnan(right) or abs(left - right) > tolerance:
                variant, metric = mart.loc[index, "variant"], mart.loc[index, "metric_name"]
                problems.append(f"{variant}/{metric}/{column}: mart {left!r} vs python {right!r}")
    return problems


@dataclass(frozen=True)
class ReadoutCheck:
    """`lawn readout`'s answer: the rows recomputed in Python and where they differ from the
    mart (``kind`` is ``experiment`` or ``automation``, which decides how a table shows them)."""

    kind: str
    experiment_id: str
    title: str
    mart_name: str
    rows: pd.DataFrame
    problems: list[str]

    @property
    def agrees(self) -> bool:
        return not self.problems

    def payload(self) -> dict:
        return {
            "experiment_id": self.experiment_id,
            "agrees_with_mart": self.agrees,
            "disagreements": self.problems,
            "rows": self.rows.to_dict(orient="records"),
        }


def check_readout(db_path: Path, experiment_id: str, tolerance: float, tau_relative: float) -> ReadoutCheck:
    """Recompute a registered experiment's readout (or, for an automation holdout, each rule's
    lift) in Python and compare it with the mart. Bad input (no warehouse, an unknown
    experiment, no observable unit yet) raises UnknownExperimentError."""
    from lawn import automation_readout as automation

    if not (math.isfinite(tolerance) and tolerance >= 0):
        # a NaN tolerance made every comparison pass: the check could not fail
        raise UnknownExperimentError(f"--tolerance must be a finite number >= 0, got {tolerance}")
    if not math.isfinite(tau_relative) or tau_relative < 0:
        raise UnknownExperimentError(
            f"--sequential-relative-tau must be a finite number >= 0, got {tau_relative}"
        )
    if not db_path.exists():
        raise UnknownExperimentError(f"no warehouse at {db_path}: run `lawn build` first")
    entry = registry_entry(db_path, experiment_id)
    if entry["experiment_kind"] == "automation_holdout":
        mart = automation.mart_lift(db_path, experiment_id)
        counts = automation.count_units(
            automation.unit_outcomes(db_path, experiment_id), mart[["rule_id", "outcome_name"]],
            float(entry["holdout_share"]),
        )  # fmt: skip
        python = automation.recompute_lift(counts)
        title = f"{experiment_id}: automated vs held-out accounts, per rule (intent to treat)"
        problems = automation.count_disagreements(mart, counts) + automation.lift_disagreements(
            mart, python, tolerance
        )
        return ReadoutCheck("automation", experiment_id, title, "fct_automation_lift", python, problems)
    units, registry, assignments = load_inputs(db_path, experiment_id)
    if units.empty:
        raise UnknownExperimentError(_why_no_units(registry, assignments, experiment_id))
    python = recompute_readout(units, registry, assignments, tau_relative)
    problems = disagreements(mart_readout(db_path, experiment_id), python, tolerance)
    title = f"{experiment_id} (primary: {registry['primary_metric']})"
    return ReadoutCheck("experiment", experiment_id, title, "fct_experiment_readouts", python, problems)
