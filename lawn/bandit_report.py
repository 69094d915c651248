"""Report-ready views of the bandits: allocation over time, posteriors, the IPW readout and the
decisions a bandit made, as DataFrames and PNG plots (matplotlib, Agg), for the nightly and
weekly reports to call. Reads public marts only (fct_bandit_arms_daily, fct_bandit_readout,
fct_bandit_assignments, fct_bandit_outcomes).

The nightly report's figures (docs/adaptive_decisions.md, "In the reports"):
- ``allocation_shares``: per night and arm, the allocation's share outside the holdout and the
  share of the night's actions the arm actually got (holdout included);
- ``posterior_intervals``: the latest night's Beta posteriors, mean and equal-tailed interval;
- ``regret_by_day``: cumulative regret ESTIMATED by inverse-propensity weighting. Each arm's
  rate in a context is its Horvitz-Thompson estimate over the closed reward windows (mean over
  all closed units of reward x 1[arm] / propensity, as the readout mart); the best arm is the one
  with the highest estimate. A night's regret is the sum over arms of actions placed x (best
  rate - arm rate); uniform allocation's is actions x (best rate - the mean of the arms' IPW
  rates), and, as a check on it, actions x (best rate - the uniform holdout's observed rate).
  A plug-in estimate with today's rates for every past night: noise when the arms do not
  differ (read the readout's always-valid interval first)."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
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
    outcomes: pd.DataFrame = field(default_factory=pd.DataFrame)  # action: arm, propensity, reward


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
        outcomes = con.execute(
            "select bandit_id, action_id, decision_day, context, arm, is_holdout, propensity, "
            f"is_window_closed, reward from marts.fct_bandit_outcomes {where} "
            "order by bandit_id, decision_day, action_id",
            params,
        ).df()
    return BanditReport(allocation, readout, decisions, outcomes)


def has_bandit_marts(db_path: Path) -> bool:
    """Whether the warehouse has the bandit marts (a warehouse built before them has not)."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        found = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts' "
            "and table_name in ('fct_bandit_arms_daily', 'fct_bandit_readout', "
            "'fct_bandit_assignments', 'fct_bandit_outcomes')"
        ).fetchall()
    return found[0][0] == 4


def allocation_shares(report: BanditReport) -> pd.DataFrame:
    """Per bandit, night, context and arm: the allocation's share (outside the holdout), the
    actions placed on the arm and their share of the night's actions in that context."""
    frame = report.allocation[
        ["bandit_id", "decision_day", "context", "arm", "share", "prob_best", "actions_assigned"]
    ].copy()
    night = frame.groupby(["bandit_id", "decision_day", "context"])["actions_assigned"].transform("sum")
    frame["realised_share"] = (frame["actions_assigned"] / night.where(night > 0)).astype(float)
    return frame.reset_index(drop=True)


def posterior_intervals(report: BanditReport, level: float = 0.95) -> pd.DataFrame:
    """The latest night's posterior per bandit, context and arm: Beta(alpha, beta), its mean
    and the equal-tailed ``level`` interval, with P(best) and the share it drove."""
    frame = report.allocation
    if frame.empty:
        return pd.DataFrame(columns=["bandit_id", "decision_day", "context", "arm", "posterior_alpha",
                                     "posterior_beta", "posterior_mean", "interval_low", "interval_high",
                                     "prob_best", "share"])  # fmt: skip
    latest = frame.groupby("bandit_id")["decision_day"].transform("max") == frame["decision_day"]
    rows = frame[latest].copy()
    tail = (1 - level) / 2
    rows["interval_low"] = stats.beta.ppf(tail, rows["posterior_alpha"], rows["posterior_beta"])
    rows["interval_high"] = stats.beta.ppf(1 - tail, rows["posterior_alpha"], rows["posterior_beta"])
    columns = ["bandit_id", "decision_day", "context", "arm", "posterior_alpha", "posterior_beta",
               "posterior_mean", "interval_low", "interval_high", "prob_best", "share"]  # fmt: skip
    return rows[columns].reset_index(drop=True)


def ipw_rates(outcomes: pd.DataFrame, allocation: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per bandit, context and arm: the Horvitz-Thompson rate over the arm's eligible units
    (the closed units of that bandit and context decided on a night whose allocation offered
    the arm; as marts.fct_bandit_readout), and the uniform holdout's plain rate there (NaN
    without a closed holdout unit). ``allocation`` (bandit_id, decision_day, context, arm):
    every arm each night offered, also one never placed; an arm no night offered has no rate
    (NaN). Without ``decision_day`` every closed unit counts for every arm listed."""
    closed = outcomes[outcomes["is_window_closed"].fillna(False).astype(bool)]
    known = pd.concat(
        [outcomes[["bandit_id", "arm"]], allocation[["bandit_id", "arm"]] if allocation is not None else None]
    )
    by_night = allocation is not None and {"decision_day", "context"} <= set(allocation.columns)
    offered: dict[tuple, set] = {}
    if by_night:
        nights = allocation.assign(decision_day=pd.to_datetime(allocation["decision_day"]))
        for key, days in nights.groupby(["bandit_id", "context", "arm"])["decision_day"]:
            offered[key] = set(days)
    rows = []
    for (bandit_id, context), units in closed.groupby(["bandit_id", "context"], sort=True):
        reward = units["reward"].astype(float)
        weighted = reward / units["propensity"].astype(float)
        holdout = reward[units["is_holdout"].astype(bool)]
        unit_days = pd.to_datetime(units["decision_day"]) if by_night else None
        for arm in sorted(set(known.loc[known["bandit_id"] == bandit_id, "arm"])):
            eligible = (
                unit_days.isin(offered.get((bandit_id, context, arm), set())).to_numpy()
                if by_night
                else np.ones(len(units), dtype=bool)
            )
            count = int(eligible.sum())
            rate = (
                float(weighted[eligible & (units["arm"] == arm).to_numpy()].sum() / count)
                if count
                else float("nan")
            )
            rows.append({
                "bandit_id": bandit_id, "context": context, "arm": arm, "closed_units": len(units),
                "eligible_units": count, "ipw_rate": rate,
                "holdout_rate": float(holdout.mean()) if len(holdout) else float("nan"),
            })  # fmt: skip
    return pd.DataFrame(rows, columns=["bandit_id", "context", "arm", "closed_units", "eligible_units",
                                       "ipw_rate", "holdout_rate"])  # fmt: skip


def _sum_or_nan(values: pd.Series) -> float:
    return float(values.sum()) if values.notna().all() else float("nan")


def regret_by_day(report: BanditReport) -> pd.DataFrame:
    """Estimated regret per bandit and night (summed over contexts) and cumulatively, for the
    bandit's actual placements and for uniform allocation (see the module docstring)."""
    columns = ["bandit_id", "decision_day", "actions", "bandit_regret", "uniform_regret",
               "holdout_regret", "cumulative_bandit_regret", "cumulative_uniform_regret",
               "cumulative_holdout_regret", "cumulative_saved_vs_uniform"]  # fmt: skip
    rates = ipw_rates(report.outcomes, report.allocation)
    if rates.empty or report.allocation.empty:
        return pd.DataFrame(columns=columns)
    by_context = rates.groupby(["bandit_id", "context"])["ipw_rate"]
    rates["best_rate"], rates["uniform_rate"] = by_context.transform("max"), by_context.transform("mean")
    placed = report.allocation[["bandit_id", "decision_day", "context", "arm", "actions_assigned"]].merge(
        rates, on=["bandit_id", "context", "arm"], how="inner"
    )
    placed["bandit_regret"] = placed["actions_assigned"] * (placed["best_rate"] - placed["ipw_rate"])
    placed["uniform_regret"] = placed["actions_assigned"] * (placed["best_rate"] - placed["uniform_rate"])
    placed["holdout_regret"] = placed["actions_assigned"] * (placed["best_rate"] - placed["holdout_rate"])
    nights = (
        placed.groupby(["bandit_id", "decision_day"], as_index=False)
        .agg(
            actions=("actions_assigned", "sum"),
            bandit_regret=("bandit_regret", "sum"),
            uniform_regret=("uniform_regret", "sum"),
            holdout_regret=("holdout_regret", _sum_or_nan),
        )
        .sort_values(["bandit_id", "decision_day"])
    )
    by = nights.groupby("bandit_id")
    nights["cumulative_bandit_regret"] = by["bandit_regret"].cumsum()
    nights["cumulative_uniform_regret"] = by["uniform_regret"].cumsum()
    # a night without a holdout estimate leaves the holdout's running total unknown from then on
    nights["cumulative_holdout_regret"] = by["holdout_regret"].transform(lambda v: v.cumsum(skipna=False))
    nights["cumulative_saved_vs_uniform"] = (
        nights["cumulative_uniform_regret"] - nights["cumulative_bandit_regret"]
    )
    return nights[columns].reset_index(drop=True)


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def allocation_plot(report: BanditReport, bandit_id: str, context: str = "all") -> bytes:
    """Left: each arm's share over decision days (stacked); right: the latest posteriors'
    means with 95% equal-tailed intervals."""
    frame = report.allocation[
        (report.allocation["bandit_id"] == bandit_id) & (report.allocation["context"] == context)
    ]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    if frame.empty:
        for axis in (left, right):
            _empty(axis, "no allocation yet")
    else:
        shares = frame.pivot(index="decision_day", columns="arm", values="share").sort_index()
        left.stackplot(
            pd.to_datetime(shares.index), shares.to_numpy(dtype=float).T, labels=list(shares.columns)
        )
        left.set_ylim(0, 1)
        left.set_ylabel("share outside the holdout")
        left.legend(loc="upper left", fontsize=7)
        left.tick_params(axis="x", labelrotation=30, labelsize=7)
        latest = posterior_intervals(BanditReport(frame, report.readout, report.decisions))
        y = np.arange(len(latest))[::-1]
        mean = latest["posterior_mean"].to_numpy(float)
        low, high = latest["interval_low"].to_numpy(float), latest["interval_high"].to_numpy(float)
        error = [mean - low, high - mean]
        right.errorbar(mean, y, xerr=error, fmt="o", capsize=3)
        right.set_yticks(y, list(latest["arm"]), fontsize=8)
        right.set_xlim(0, max(1e-3, float(latest["interval_high"].max())) * 1.1)
        right.set_xlabel("reward rate: posterior mean and 95% interval", fontsize=8)
    left.set_title(f"{bandit_id} ({context}): allocation over time", fontsize=9)
    right.set_title("Posteriors on the latest decision day", fontsize=9)
    return _png(figure)


def _empty(axis: plt.Axes, message: str) -> None:
    axis.text(0.5, 0.5, message, ha="center", va="center", transform=axis.transAxes, color="grey")
    axis.set_xticks([])
    axis.set_yticks([])


def regret_plot(regret: pd.DataFrame, bandit_id: str) -> bytes:
    """Cumulative estimated regret of the bandit's placements and of uniform allocation."""
    rows = regret[regret["bandit_id"] == bandit_id]
    figure, axis = plt.subplots(figsize=(7, 3))
    if rows.empty:
        _empty(axis, "no closed reward window yet")
    else:
        days = pd.to_datetime(rows["decision_day"])
        axis.plot(days, rows["cumulative_bandit_regret"], label="bandit (as placed)")
        axis.plot(days, rows["cumulative_uniform_regret"], linestyle="--", label="uniform (IPW)")
        axis.plot(days, rows["cumulative_holdout_regret"], linestyle=":", label="uniform (holdout's rate)")
        axis.axhline(0, color="grey", linewidth=1)
        axis.set_ylabel("cumulative regret (rewards)")
        axis.legend(fontsize=7)
        figure.autofmt_xdate()
    axis.set_title(f"{bandit_id}: cumulative regret, estimated by IPW", fontsize=9)
    return _png(figure)
