"""The automation holdout's readout: each action rule's lift against the registered holdout,
recomputed with pandas, statsmodels and scipy from the unit-level outcomes
(fct_automation_unit_outcomes) and the registered holdout share (dim_experiments), and
compared with fct_automation_lift (as `lawn readout` does for experiments from
fct_experiment_unit_metrics)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

COMPARED = (
    "automated_rate",
    "holdout_rate",
    "lift",
    "lift_ci_lower",
    "lift_ci_upper",
    "p_value",
    "p_value_bh",
    "srm_p_value",
)


def mart_lift(db_path: Path, holdout_id: str) -> pd.DataFrame:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(
            "select * from marts.fct_automation_lift where holdout_id = ? order by rule_id", [holdout_id]
        ).df()


COUNTS = (
    "automated_units",
    "holdout_units",
    "automated_observed",
    "automated_outcomes",
    "holdout_observed",
    "holdout_outcomes",
)


def unit_outcomes(db_path: Path, holdout_id: str) -> pd.DataFrame:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(
            "select * from marts.fct_automation_unit_outcomes where experiment_id = ?", [holdout_id]
        ).df()


def count_units(units: pd.DataFrame, rules: pd.DataFrame, holdout_share: float) -> pd.DataFrame:
    """Per rule (``rules``: rule_id, outcome_name, in order): decided units per arm, and
    observable units and outcomes per arm, counted from the unit-level rows."""
    rows = []
    for rule in rules.itertuples():
        mine = units[units["rule_id"] == rule.rule_id]
        seen = mine[mine["is_observable"].astype(bool)]
        row = {
            "rule_id": rule.rule_id,
            "outcome_name": rule.outcome_name,
            "expected_holdout_share": holdout_share,
        }
        for arm in ("automated", "holdout"):
            observed = seen[seen["variant"] == arm]
            row[f"{arm}_units"] = int((mine["variant"] == arm).sum())
            row[f"{arm}_observed"] = len(observed)
            row[f"{arm}_outcomes"] = int((observed["metric_value"] == 1).sum())
        rows.append(row)
    return pd.DataFrame(rows, columns=["rule_id", "outcome_name", "expected_holdout_share", *COUNTS])


def count_disagreements(mart: pd.DataFrame, counts: pd.DataFrame) -> list[str]:
    """Every rule and count where the mart's counts differ from the unit-level rows."""
    merged = mart.merge(counts, on="rule_id", how="outer", suffixes=("_mart", "_units"), indicator="side")
    problems = [f"{row.rule_id}: only in {'the mart' if row.side == 'left_only' else 'the units'}"
                for row in merged.itertuples() if row.side != "both"]  # fmt: skip
    for row in merged[merged["side"] == "both"].to_dict(orient="records"):
        for column in COUNTS:
            if int(row[f"{column}_mart"]) != int(row[f"{column}_units"]):
                problems.append(f"{row['rule_id']} {column}: mart {row[f'{column}_mart']} vs units "
                                f"{row[f'{column}_units']}")  # fmt: skip
    return problems


def _rule_row(row: pd.Series) -> dict:
    n1, k1, n0, k0 = (int(row[c]) for c in ("automated_observed", "automated_outcomes", "holdout_observed",
                                              "holdout_outcomes"))  # fmt: skip
    result = {"rule_id": row["rule_id"], "outcome_name": row["outcome_name"], "automated_observed": n1,
              "holdout_observed": n0}  # fmt: skip
    result["automated_rate"] = k1 / n1 if n1 else np.nan
    result["holdout_rate"] = k0 / n0 if n0 else np.nan
    result["lift"] = result["automated_rate"] - result["holdout_rate"]
    result["lift_ci_lower"] = result["lift_ci_upper"] = result["p_value"] = np.nan
    degenerate = (k1 in (0, n1)) and (k0 in (0, n0))  # zero variance in both arms: no test
    if n1 and n0 and not degenerate:
        low, high = confint_proportions_2indep(k1, n1, k0, n0, method="wald", compare="diff")
        test = test_proportions_2indep(k1, n1, k0, n0, method="wald", compare="diff", correction=False)
        result.update(lift_ci_lower=low, lift_ci_upper=high, p_value=test.pvalue)
    units = np.array([row["holdout_units"], row["automated_units"]], dtype=float)
    share = float(row["expected_holdout_share"])
    if units.sum() > 0:
        expected = units.sum() * np.array([share, 1 - share])
        result["srm_p_value"] = float(stats.chisquare(units, expected).pvalue)
    else:
        result["srm_p_value"] = np.nan
    return result


def recompute_lift(mart: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame([_rule_row(row) for _, row in mart.iterrows()])
    tested = frame["p_value"].notna()
    frame["p_value_bh"] = np.nan
    if tested.any():
        frame.loc[tested, "p_value_bh"] = multipletests(frame.loc[tested, "p_value"], method="fdr_bh")[1]
    return frame


def lift_disagreements(mart: pd.DataFrame, python: pd.DataFrame, tolerance: float = 1e-6) -> list[str]:
    problems = []
    merged = mart.merge(python, on="rule_id", suffixes=("_mart", "_python"))
    for row in merged.to_dict(orient="records"):
        for column in COMPARED:
            a, b = row[f"{column}_mart"], row[f"{column}_python"]
            if pd.isna(a) and pd.isna(b):
                continue
            if pd.isna(a) != pd.isna(b) or abs(float(a) - float(b)) > tolerance:
                problems.append(f"{row['rule_id']} {column}: mart {a} vs python {b}")
    return problems
