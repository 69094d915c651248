"""Report-ready views of the bandits: allocation over time, posteriors, the IPW readout and the
decisions a bandit made, as DataFrames and PNG plots (matplotlib, Agg), for the nightly and
weekly reports to call. Reads public marts only (fct_bandit_arms_daily, fct_bandit_readout,
fct_bandit_assignments)."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class BanditReport:
    allocation: pd.DataFrame  # bandit, decision day, context, arm: share, prob_best, posterior
    readout: pd.DataFrame  # bandit x arm: naive, IPW, holdout, always-valid lift vs holdout
    decisions: pd.DataFrame  # bandit, decision day, arm: actions placed (and in the holdout)


def load_bandit_report(db_path: Path, since: dt.date | None = None) -> BanditReport:
    """The bandit marts (decision days from ``since`` on, all when None); empty frames when
    no bandit has decided yet."""
    where = "where decision_day >= ?" if since else ""
    params = [since] if since else []
    with duckdb.connect(str(db_path), read_only=True) as con:
        allocation = con.execute(
            "select bandit_id, decision_day, context, arm, template_id, share, prob_best, "
            "posterior_alpha, posterior_beta, posterior_mean, propensity, actions_assigned, "
            f"holdout_actions_assigned from marts.fct_bandit_arms_daily {where} "
            "order by bandit_id, decision_day, context, arm",
            params,
        ).df()
        readout = con.execute(
            "select bandit_id, arm, template_id, closed_units, arm_units, naive_rate, ipw_rate, ipw_se, "
            "holdout_units, holdout_rate, holdout_arm_rate, lift_vs_holdout, sequential_ci_low, "
            "sequential_ci_high, sequential_p_value from marts.fct_bandit_readout order by bandit_id, arm"
        ).df()
        decisions = con.execute(
            "select bandit_id, decision_day, arm, template_id, count(*) as actions, "
            "sum(case when is_holdout then 1 else 0 end) as holdout_actions "
            f"from marts.fct_bandit_assignments {where} "
            "group by bandit_id, decision_day, arm, template_id order by bandit_id, decision_day, arm",
            params,
        ).df()
    return BanditReport(allocation, readout, decisions)


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def allocation_plot(report: BanditReport, bandit_id: str, context: str = "all") -> bytes:
    """Left: each arm's share over decision days (stacked); right: the latest posteriors."""
    frame = report.allocation[
        (report.allocation["bandit_id"] == bandit_id) & (report.allocation["context"] == context)
    ]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    if frame.empty:
        for axis in (left, right):
            axis.text(0.5, 0.5, "no allocation yet", ha="center", va="center", transform=axis.transAxes)
            axis.set_xticks([])
            axis.set_yticks([])
    else:
        shares = frame.pivot(index="decision_day", columns="arm", values="share").sort_index()
        left.stackplot(
            pd.to_datetime(shares.index), shares.to_numpy(dtype=float).T, labels=list(shares.columns)
        )
        left.set_ylim(0, 1)
        left.set_ylabel("share outside the holdout")
        left.legend(loc="upper left", fontsize=7)
        left.tick_params(axis="x", labelrotation=30, labelsize=7)
        latest = frame[frame["decision_day"] == frame["decision_day"].max()]
        grid = np.linspace(0.0005, 0.9995, 400)
        for row in latest.itertuples():
            right.plot(grid, stats.beta.pdf(grid, row.posterior_alpha, row.posterior_beta), label=row.arm)
        right.set_xlabel("reward rate")
        right.set_ylabel("posterior density")
        right.legend(fontsize=7)
    left.set_title(f"{bandit_id} ({context}): allocation over time")
    right.set_title("Posteriors on the latest decision day")
    return _png(figure)
