"""`lawn readout`'s table cells: a rule (or arm) without units has no lift, interval or
p-value; it printed `nan` cells beside statsmodels' divide-by-zero warnings (a docs
walk-through, 2026-12-07). Such a cell is '-', as in the reports."""

from __future__ import annotations

import math
from types import SimpleNamespace

from lawn.cli_stats import _automation_cells, _experiment_cells


def test_a_rule_without_units_prints_dashes_not_nan():
    empty = SimpleNamespace(rule_id="r", outcome_name="o", automated_observed=0, holdout_observed=0,
                            lift=math.nan, lift_ci_lower=math.nan, lift_ci_upper=math.nan,
                            p_value=math.nan, p_value_bh=None, srm_p_value=math.nan)  # fmt: skip
    assert _automation_cells(empty) == ("r", "o", "0", "0", "-", "-", "-", "-", "-")
    full = SimpleNamespace(rule_id="r", outcome_name="o", automated_observed=120, holdout_observed=30,
                           lift=0.0412345, lift_ci_lower=-0.01, lift_ci_upper=0.0925,
                           p_value=0.1234, p_value_bh=0.2468, srm_p_value=0.5)  # fmt: skip
    assert _automation_cells(full) == (
        "r", "o", "120", "30", "0.04123", "[-0.01, 0.0925]", "0.123", "0.247", "0.5")  # fmt: skip


def test_an_arm_without_units_prints_dashes_not_nan():
    row = SimpleNamespace(variant="b", metric_name="m", units=0, absolute_lift=math.nan, ci_low=math.nan,
                          ci_high=math.nan, p_value=math.nan, p_value_bh=math.nan, cuped_lift=None,
                          srm_p_value=0.02)  # fmt: skip
    assert _experiment_cells(row) == ("b", "m", "0", "-", "-", "-", "-", "", "0.02")
