"""The monthly report: churn-model performance by cohort and segment, drift, calibration,
data-quality incidents and the model-card diff since last month. Monitoring rows are those of
the live model (not shadow) at the newest monitored day on or before the as-of day; the live
model of a day is the version of that day's non-shadow monitoring rows (the last run wins)."""

from __future__ import annotations

import datetime as dt
import difflib

import pandas as pd

from lawn.reports import plots
from lawn.reports.page import Section, fmt
from lawn.reports.reader import Reader

DQ_TARGET = 0.98


def live_on(r: Reader, day: dt.date) -> tuple[object, str | None]:
    """(monitored day, live model version) at the newest monitored day on or before ``day``;
    (None, None) when no model was ever monitored (a feed too young for a churn model, or a
    night whose score step failed: the monitoring mart was never built)."""
    if not r.has_table("marts", "fct_model_monitoring"):
        return None, None
    rows = r.df(
        """
        select as_of_date, model_version from marts.fct_model_monitoring
        where not is_shadow and as_of_date <= $day
        order by as_of_date desc, run_at desc, model_version limit 1
        """,
        day=day,
    )
    return (rows["as_of_date"].iloc[0], str(rows["model_version"].iloc[0])) if len(rows) else (None, None)


def checks(r: Reader, day: object, version: str) -> pd.DataFrame:
    return r.df(
        """
        select check_name, subject, slice_dimension, slice_value, metric_value, threshold, row_count,
            is_flagged
        from marts.fct_model_monitoring
        where not is_shadow and as_of_date = $day and model_version = $version
        order by check_name, slice_dimension, slice_value, subject
        """,
        day=day,
        version=version,
    )


def auc_trend(r: Reader) -> pd.DataFrame:
    """Overall AUC and calibration gap of the live model on each monitored day of the month."""
    return r.df(
        """
        with ranked as (
            select *, dense_rank() over (partition by as_of_date order by run_at desc, model_version) as rn
            from marts.fct_model_monitoring
            where not is_shadow and as_of_date <= $as_of and as_of_date >= $start and slice_dimension = 'all'
        )
        select as_of_date, max(case when check_name = 'auc' then metric_value end) as auc,
            max(case when check_name = 'calibration_gap' then metric_value end) as calibration_gap
        from ranked where rn = 1 group by as_of_date order by as_of_date
        """
    )


def incidents(r: Reader) -> pd.DataFrame:
    """Runs of consecutive receipt days whose data quality score is below the target."""
    days = r.df(
        """
        select received_date,
            sum(attributed_count) * 1.0 / nullif(sum(first_delivery_count), 0) as data_quality_score,
            cast(sum(quarantined_count) as bigint) as quarantined
        from marts.fct_data_quality_daily where received_date <= $as_of and received_date >= $start
        group by received_date order by received_date
        """
    )
    low = days[days["data_quality_score"] < DQ_TARGET].copy()
    if low.empty:
        return pd.DataFrame(columns=["start_date", "end_date", "days", "worst_score", "quarantined"])
    dates = pd.to_datetime(low["received_date"])
    low["incident"] = (dates.diff().dt.days != 1).cumsum()
    return (
        low.groupby("incident")
        .agg(
            start_date=("received_date", "min"),
            end_date=("received_date", "max"),
            days=("received_date", "size"),
            worst_score=("data_quality_score", "min"),
            quarantined=("quarantined", "sum"),
        )
        .reset_index(drop=True)
    )


def card(r: Reader, version: str) -> list[str] | None:
    path = r.model_store / version / "model_card.md"
    return path.read_text().splitlines() if path.exists() else None


def card_diff(r: Reader, now: str | None, then: str | None) -> list[str]:
    if now is None:
        return ["No live model monitored on or before the as-of day."]
    if then is None:
        return [f"No model was monitored a month earlier; {now} is live now."]
    if then == now:
        return [f"No change: {now} was live a month ago and is live now."]
    old, new = card(r, then), card(r, now)
    if old is None or new is None:
        missing = [v for v, c in ((then, old), (now, new)) if c is None]
        return [f"Model {now} replaced {then}; no model card for {', '.join(missing)} in {r.model_store}."]
    return list(difflib.unified_diff(old, new, f"{then}/model_card.md", f"{now}/model_card.md", lineterm=""))


def build(r: Reader) -> list[Section]:
    day, version = live_on(r, r.as_of)
    perf, drift, calib = (
        Section("Model performance by cohort and segment"),
        Section("Drift"),
        Section("Calibration"),
    )
    if version is None:
        for section in (perf, drift, calib):
            section.text("No churn-model monitoring on or before the as-of day.")
    else:
        frame = checks(r, day, version)
        note = f"Live model {version}, monitored on {fmt(day)} (marts.fct_model_monitoring)."
        auc = frame[frame["check_name"] == "auc"]
        perf.text(note).table(
            auc.drop(columns=["check_name", "subject"]), empty="No AUC: outcomes not known yet."
        )
        trend = auc_trend(r)
        perf.plot(
            "auc_trend",
            plots.lines(trend, "as_of_date", ["auc"], "AUC of the live model this month", 0.6),
            "AUC trend",
        )
        psi = frame[frame["check_name"] == "feature_psi"]
        drift.text(
            f"{int(psi['is_flagged'].sum())} of {len(psi)} features drifted (PSI above its threshold)."
        )
        drift.table(
            psi.drop(columns=["check_name", "slice_dimension", "slice_value"]), empty="No drift check."
        )
        drift.plot(
            "drift",
            plots.signed_bars(
                list(psi["subject"]),
                list(psi["metric_value"]),
                list(psi["is_flagged"]),
                float(psi["threshold"].iloc[0]) if len(psi) else None,
                "Feature drift (PSI)",
                "PSI",
            ),
            "feature drift",
        )
        gap = frame[frame["check_name"] == "calibration_gap"]
        labels = list(gap["slice_dimension"] + "=" + gap["slice_value"])
        calib.text("|mean predicted - observed churn| by slice, on scored days whose outcome is known.")
        calib.table(gap.drop(columns=["check_name", "subject"]), empty="No calibration check.")
        calib.plot(
            "calibration",
            plots.signed_bars(
                labels,
                list(gap["metric_value"]),
                list(gap["is_flagged"]),
                float(gap["threshold"].iloc[0]) if len(gap) else None,
                "Calibration gap by slice",
                "gap",
            ),
            "calibration",
        )
    found = incidents(r)
    dq = Section("Data-quality incidents").text(
        f"{len(found)} incident(s): runs of receipt days with a data quality score below {DQ_TARGET}."
    )
    dq.table(found, empty="No data-quality incident this month.")
    flags = r.df(
        """
        select flag_reason, count(*) as series_days from marts.fct_instrumentation_qa_daily
        where is_flagged and activity_date <= $as_of and activity_date >= $start group by 1 order by 1
        """
    )
    dq.subtitle("Instrumentation flags this month").table(flags, empty="No instrumentation flag this month.")
    month_ago = (pd.Timestamp(r.as_of) - pd.DateOffset(months=1)).date()
    _, then = live_on(r, month_ago)
    diff = card_diff(r, version, then)
    cards = Section("Model card diff since last month").text(
        f"Live model on {month_ago}: {then or '-'}; on {r.as_of}: {version or '-'}."
    )
    if diff and diff[0].startswith("---"):
        cards.code("\n".join(diff))
    else:
        cards.text(" ".join(diff))
    return [perf, drift, calib, dq, cards]
