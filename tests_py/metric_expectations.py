"""Metric definitions restated in pandas over raw rows and planted truth (never over marts)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

# what counts as a person or account being active, restated from the project's
# activity_event_names var: their own actions, not the emails sent to them
ACTIVITY = {
    "signed_up",
    "logged_in",
    "feature_used",
    "milestone_reached",
    "teammate_invited",
    "first_invoice_sent",
    "notification_clicked",
    "nps_submitted",
    "support_ticket_created",
}


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def monthly_mrr(
    changes: pd.DataFrame, data_end: dt.date, paid_before: frozenset[str] = frozenset()
) -> pd.DataFrame:
    """Month-end MRR per account from an ordered list of MRR changes.

    ``changes``: account_id, day (date), mrr_usd (after the change), in the order they happened.
    Returns account_id, month_start, mrr_usd, previous_mrr_usd, movement_type for every month
    from the account's first paid month (the first month that ends with MRR > 0: a $0 trial
    or free plan is not a payment) to the month of ``data_end``; accounts that never paid
    have no rows. ``new`` is the first paid month, ``reactivation`` a return after a churn.
    Accounts in ``paid_before`` were paying before the data starts: their first month in the
    data, if it ends paying, is ``existing`` and any later return is a ``reactivation``.
    """
    rows = []
    for account_id, group in changes.groupby("account_id", sort=True):
        month = first_month = month_of(group["day"].iloc[0])
        was_paying = account_id in paid_before
        first_paid, previous, last = None, 0.0, 0.0
        while month <= month_of(data_end):
            in_force = group[group["day"] < next_month(month)]
            last = float(in_force["mrr_usd"].iloc[-1]) if len(in_force) else last
            if first_paid is None and last > 0:
                first_paid = month
            if first_paid is None:
                month = next_month(month)
                continue
            if previous == 0 and last > 0 and was_paying and month == first_month:
                movement = "existing"
            elif previous == 0 and last > 0:
                movement = "reactivation" if month > first_paid or was_paying else "new"
            elif previous > 0 and last == 0:
                movement = "churn"
            elif last > previous:
                movement = "expansion"
            elif last < previous:
                movement = "contraction"
            else:
                movement = "none"
            rows.append(
                {
                    "account_id": account_id,
                    "month_start": month,
                    "cohort_month": first_paid,
                    "mrr_usd": last,
                    "previous_mrr_usd": previous,
                    "movement_type": movement,
                }
            )
            previous, month = last, next_month(month)
    columns = ["account_id", "month_start", "cohort_month", "mrr_usd", "previous_mrr_usd", "movement_type"]
    return pd.DataFrame(rows, columns=columns)


def first_times(events: pd.DataFrame, key: str) -> pd.Series:
    """Earliest ``at`` per ``key`` (ties broken by event_id, as the marts do)."""
    ordered = events.sort_values(["at", "event_id"])
    return ordered.groupby(key)["at"].first()


def in_window(anchor: pd.Series, reached: pd.Series, days: int) -> pd.Series:
    """Reached on calendar day 0..days after the anchor's day."""
    offset = (reached.dt.normalize() - anchor.dt.normalize()).dt.days
    return offset.between(0, days).fillna(False).astype(bool)
