"""Baselines and eligible traffic for power calculations, read from the built marts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from lawn.contract import experiment_metric_catalog
from lawn.data_day import data_day


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
    from lawn.warehouse import WarehouseError, check_warehouse

    if not db_path.exists():
        raise FileNotFoundError(f"no warehouse at {db_path}: run `lawn build` first")
    try:  # a foreign or empty file is bad input (it exited 1 with DuckDB's IO error)
        check_warehouse(db_path, write=False, must_exist=True, open_check=False)
    except WarehouseError as exc:
        raise FileNotFoundError(str(exc)) from exc
    return duckdb.connect(str(db_path), read_only=True)


def metric_baseline(db_path: Path, metric: str, window_days: int = 28) -> MetricBaseline:
    """A milestone rate of fct_activation (e.g. ``first_invoice_sent``, ``first_paid_14d``,
    ``user_created_invoice``) over the entities anchored in the last ``window_days`` days whose
    window is complete, and how many new entities arrive per day; or ``mrr_per_account``
    (the experiment metric's population: every account, 0 if not paying, so the mean and sd of
    the MRR known 30 days after creation over the accounts created in the last
    ``window_days`` days whose 30 days are over; new accounts per day)."""
    with _connect(db_path) as con:
        if metric == "mrr_per_account":
            # the MRR this many days after the unit's start, as the experiment metric reads it
            days = int(experiment_metric_catalog()[metric]["window_days"])
            # before, the paying accounts of the last month only: a mean of $131.50 instead of
            # the $52.60 over every account the experiment metric counts (0 if not paying)
            mean, sd, units = con.execute(
                f"with settled as (select account_id, cast(created_at as date) as created_date "
                f"from marts.dim_accounts where cast(created_at as date) + {days} <= ?), "
                f"recent as (select * from settled "
                f"where created_date > (select max(created_date) from settled) - {int(window_days)}) "
                f"select avg(coalesce(features.mrr_usd, 0)), stddev_samp(coalesce(features.mrr_usd, 0)), "
                f"count(*) from recent left join marts.fct_account_features_daily as features "
                f"on features.account_id = recent.account_id "
                f"and features.feature_date = recent.created_date + {days}",
                [data_day(con)],  # the build's today (lawn/data_day.py)
            ).fetchone()
            if not units:
                raise UnknownMetricError(
                    f"metric {metric!r} has no account created {days} days before the data's end"
                )
            arrivals = con.execute(
                f"select count(*) from marts.dim_accounts where created_at > "
                f"(select max(created_at) from marts.dim_accounts) - interval {int(window_days)} day"
            ).fetchone()[0]
            return MetricBaseline(
                metric, "mean", float(mean), float(sd or 0.0), arrivals / window_days, int(units), window_days
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
