"""The nightly report's readout plot on what a new customer has: no experiment yet, and an
automation holdout whose arms have no outcome (lift 0, no interval). A black-box probe
(2026-12-06) found the nightly's report step failing there (exit 1, no report, no cadence
reports) on a valid feed."""

from __future__ import annotations

import pandas as pd

from lawn import report_plots

PNG = b"\x89PNG\r\n\x1a\n"
EXPERIMENT_COLUMNS = [
    "experiment_id", "variant", "metric_name", "metric_type", "absolute_lift", "ci_low", "ci_high",
    "control_estimate",
]  # fmt: skip
LIFT_COLUMNS = ["rule_id", "outcome_name", "lift", "lift_ci_lower", "lift_ci_upper"]


def _lift(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=LIFT_COLUMNS)


def test_no_experiment_and_automation_lift_without_interval_still_plots():
    no_experiments = pd.DataFrame(columns=EXPERIMENT_COLUMNS)
    no_interval = _lift(("onboarding_nudge", "activated_14d", 0.0, None, None))
    assert report_plots.readouts(no_experiments, no_interval).startswith(PNG)
    assert report_plots.readouts(no_experiments, _lift()).startswith(PNG)


def test_rows_with_and_without_interval_plot_the_ones_with():
    experiments = pd.DataFrame(
        [
            ("exp_a", "treatment", "activated_7d", "proportion", 0.05, -0.01, 0.11, 0.30),
            ("exp_a", "treatment", "mrr_per_account", "mean", 4.0, -1.0, 9.0, 50.0),
            ("exp_b", "treatment", "tickets_per_user", "mean", 1.0, 0.5, 1.5, 0.0),  # no control mean
        ],
        columns=EXPERIMENT_COLUMNS,
    )
    lift = _lift(
        ("churn_save", "retained_30d", 0.1, 0.02, 0.18),
        ("onboarding_nudge", "activated_14d", 0.0, None, None),
    )
    assert report_plots.readouts(experiments, lift).startswith(PNG)
