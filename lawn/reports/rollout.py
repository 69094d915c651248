"""The staggered rollout of the weekly report: accounts adopt a feature on different days
(``feature_enabled`` with ``enabled_by = rollout``); the effect on the outcome is estimated with
Callaway & Sant'Anna (lawn/did_staggered.py) on an account x week panel that ends on the as-of day."""

from __future__ import annotations

import pandas as pd

from lawn.did import PanelError, prepare_panel
from lawn.did_staggered import callaway_santanna
from lawn.reports.reader import Reader

# the outcome: mean usage_count of the feature uses named OUTCOME_FEATURE, per account and week
OUTCOME_EVENT, OUTCOME_FEATURE, OUTCOME_PROPERTY = "feature_used", "create_invoice", "usage_count"


def adoptions(r: Reader) -> pd.DataFrame:
    """feature_name, account_id, adoption_date: the first rollout enablement per account."""
    return r.df(
        """
        select json_extract_string(properties, '$.feature_name') as feature_name, account_id,
            min(occurred_date) as adoption_date
        from {events}
        where event_name = 'feature_enabled' and json_extract_string(properties, '$.enabled_by') = 'rollout'
            and account_id is not null
        group by 1, 2 order by 1, 2
        """
    )


def panel(r: Reader, adopted: pd.DataFrame) -> pd.DataFrame:
    """account_id, week_start, week (0 = the 7 days ending on the as-of day, -1 before ...),
    outcome and treated (the week starts on or after the account's adoption week)."""
    uses = r.df(
        """
        select account_id, datediff('day', occurred_date, cast($as_of as date)) // 7 as weeks_back,
            avg(try_cast(json_extract_string(properties, '$.' || $prop) as double)) as outcome
        from {events}
        where event_name = $event and json_extract_string(properties, '$.feature_name') = $feature
            and account_id is not null
        group by 1, 2 having count(try_cast(json_extract_string(properties, '$.' || $prop) as double)) > 0
        """,
        event=OUTCOME_EVENT,
        feature=OUTCOME_FEATURE,
        prop=OUTCOME_PROPERTY,
    )
    as_of = pd.Timestamp(r.as_of)
    uses["week"] = -uses["weeks_back"].astype(int)
    uses["week_start"] = as_of - pd.to_timedelta(6 + 7 * uses["weeks_back"].astype(int), unit="D")
    adopted = adopted.assign(
        adoption_week=-((as_of - pd.to_datetime(adopted["adoption_date"])).dt.days // 7).astype(int)
    )
    frame = uses.merge(adopted[["account_id", "adoption_week"]], on="account_id", how="left")
    frame["treated"] = (frame["week"] >= frame["adoption_week"]).astype(int)
    return frame.sort_values(["account_id", "week"]).reset_index(drop=True)


def estimate(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The aggregated effects (overall, per adoption cohort, per week since adoption) as rows of
    kind, label, estimate, ci_low, ci_high, p_value; or an empty frame and why."""
    try:
        prepared = prepare_panel(frame, "account_id", "week", "outcome", {"treat": "treated"})
        result = callaway_santanna(prepared, control_group="never_treated")
    except PanelError as exc:
        return pd.DataFrame(columns=["kind", "label", "estimate", "ci_low", "ci_high", "p_value"]), str(exc)
    rows = []
    for item in result.estimates:
        if item.kind in ("simple", "group", "dynamic"):
            if item.kind == "simple":
                label = "overall"
            elif item.kind == "group":
                label = f"adopted {-int(item.group)} weeks before the as-of week"
            else:
                label = f"week {item.event} since adoption"
            rows.append(
                (item.kind, label, item.event, item.estimate, item.ci_low, item.ci_high, item.p_value)
            )
    out = pd.DataFrame(rows, columns=["kind", "label", "event", "estimate", "ci_low", "ci_high", "p_value"])
    note = f"{result.units} accounts, {result.observations} account-weeks"
    return out, "; ".join([note, *result.warnings])
