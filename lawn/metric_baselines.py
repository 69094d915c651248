"""Baselines and eligible traffic for power calculations, read from the built marts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb


class UnknownMetricError(ValueError):
    """The metric is neither a milestone of fct_activation nor a known mean metric."""


@dataclass(frozen=True)
class MetricBaseline:
    metric: str
    test: str  # proportion or mean
    baseline: float  # rate, or mean
    sd: float | None
    daily_units: float  # eligible units arriving per day
    units: int  # units the baseline was measured on
    window_days: int


def _connect(db_path: Path) -> duckdb.DuckDBPyConnection:
    if not db_path.exists():
        raise FileNotFoundError(f"no warehouse at {db_path}: run `lawn build` first")
    return duckdb.connect(str(db_path), read_only=True)


def metric_baseline(db_path: Path, metric: str, window_days: int = 28) -> MetricBaseline:
    """A milestone rate of fct_activation (e.g. ``first_invoice_sent``, ``first_paid_14d``,
    ``user_created_invoice``) over the entities anchored in the last ``window_days`` days whose
    window is complete, and how many new entities arrive per day; or ``mrr_per_account``
    (mean and sd of month-end MRR over paying accounts in the last month, new accounts per day)."""
    with _connect(db_path) as con:
        if metric == "mrr_per_account":
            mean, sd, units = con.execute(
                "select avg(mrr_usd), stddev_samp(mrr_usd), count(*) from marts.fct_mrr "
                "where is_active and month_start = (select max(month_start) from marts.fct_mrr)"
            ).fetchone()
            arrivals = con.execute(
                f"select count(*) from marts.dim_accounts where created_at > "
                f"(select max(created_at) from marts.dim_accounts) - interval {int(window_days)} day"
            ).fetchone()[0]
            return MetricBaseline(
                metric, "mean", float(mean), float(sd), arrivals / window_days, int(units), window_days
            )
        known = {
            row[0]
            for row in con.execute("select distinct milestone_name from marts.fct_activation").fetchall()
        }
        if metric not in known:
            raise UnknownMetricError(
                f"unknown metric {metric!r}; milestones: {sorted(known)}, or mrr_per_account"
            )
        rate, units = con.execute(
            "with complete as (select * from marts.fct_activation where milestone_name = ? "
            "and is_window_complete), recent as (select * from complete where anchor_date > "
            "(select max(anchor_date) from complete) - cast(? as integer)) "
            "select avg(case when is_reached_in_window then 1.0 else 0.0 end), count(*) "
            "from recent",
            [metric, window_days],
        ).fetchone()
        if not units:
            raise UnknownMetricError(f"metric {metric!r} has no entity with a complete window yet")
        return MetricBaseline(
            metric, "proportion", float(rate), None, units / window_days, int(units), window_days
        )
