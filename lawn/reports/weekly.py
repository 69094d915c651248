"""The weekly report: top 3 wins and risks, rollouts, bandit decisions (lawn/reports/bandit_decisions.py),
customer feedback, instrumentation QA.

Ranking of wins and risks (docs/cadence_reports.md): every candidate has a tier and a
magnitude; candidates sort by tier (1 SLO, 2 experiment, 3 metric movement), then by magnitude
(largest first), then by text; the first three wins and the first three risks are shown.
- tier 1, SLO: an SLO with breach days in the week is a risk (magnitude: 10 for severity
  error, 0 for warn, plus the breach days); one that breached the week before and passes at
  its newest evaluation is a win (magnitude: the breach days it recovered from).
- tier 2, experiment: a significant, trustworthy readout (not the holdout arm) of an experiment
  that concluded in the last 28 days: a win when the metric moved the way it should
  (registry.experiment_metrics.is_higher_better), a risk otherwise (magnitude: |test statistic|).
- tier 3, metric movement: a weekly KPI whose week is at least Z_MOVE standard deviations from
  the weeks before (up to 4, only weeks the data covers: a week that begins before the data
  starts is no baseline) (magnitude: |z|), a win or a risk by the KPI's better direction; over a
  flat baseline (standard deviation 0) any change is a movement (z of infinite size)."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from lawn.data_day import data_start
from lawn.reports import bandit_decisions, plots, rollout
from lawn.reports.page import Section, fmt
from lawn.reports.reader import Reader
from lawn.settings import var

Z_MOVE = 2.0
BASELINE_WEEKS = 4
EXPERIMENT_DAYS = 28
# the events that count as an account being active: the project's one list (dbt var
# activity_event_names, as retention and the account features count them), not billing events
ACTIVITY_EVENTS = ", ".join("'" + name.replace("'", "''") + "'" for name in var("activity_event_names"))
# KPI name -> (SQL over the as-of events of one week, higher is better)
KPIS = {
    "active accounts": (
        f"count(distinct case when event_name in ({ACTIVITY_EVENTS}) then account_id end)",
        True,
    ),
    "signups": ("count(case when event_name = 'signed_up' then 1 end)", True),
    "invoices paid": ("count(case when event_name = 'invoice_paid' then 1 end)", True),
    "support tickets": ("count(case when event_name = 'support_ticket_created' then 1 end)", False),
    "errors shown": ("count(case when event_name = 'error_occurred' then 1 end)", False),
}


def kpi_weeks(r: Reader) -> pd.DataFrame:
    """One row per KPI and week back (0 = the 7 days ending on the as-of day, up to
    BASELINE_WEEKS), with ``observed``: the week begins on or after the data's first day
    (lawn.data_day.data_start), so its counts are not zeros of days the data never saw."""
    columns = ", ".join(f"{sql} as k{i}" for i, (sql, _) in enumerate(KPIS.values()))
    frame = r.df(
        f"""
        with weeks as (select generate_series as weeks_back from generate_series(0, {BASELINE_WEEKS})),
        events as (
            select *, datediff('day', occurred_date, cast($as_of as date)) // 7 as weeks_back from {{events}}
        )
        select weeks.weeks_back, {columns},
            cast($as_of as date) - cast(7 * weeks.weeks_back + 6 as integer) >= $first as observed
        from weeks left join events on events.weeks_back = weeks.weeks_back
        group by weeks.weeks_back order by weeks.weeks_back
        """,
        first=data_start(r.con) or dt.date.min,  # unknown: every week observed
    )
    frame["observed"] = frame["observed"].fillna(False).astype(bool)
    return frame.rename(columns={f"k{i}": name for i, name in enumerate(KPIS)})


def z_score(current: float, base: pd.Series) -> float:
    """(current - mean) / sample sd of ``base``; NaN with fewer than two baseline weeks; over a
    flat baseline 0 if the week equals it, else an infinite z of the change's sign."""
    if len(base) < 2:
        return float("nan")
    mean, sd = base.mean(), base.std(ddof=1)
    if sd > 0:
        return float((current - mean) / sd)
    return 0.0 if current == mean else math.copysign(math.inf, current - mean)


def movements(weeks: pd.DataFrame) -> pd.DataFrame:
    """Per KPI: this week, the baseline of the observed weeks before (mean, sd, how many) and
    z; no z when this week itself begins before the data does (a partial week)."""
    rows = []
    this_week = weeks["weeks_back"] == 0
    complete = bool(weeks.loc[this_week, "observed"].iloc[0])
    baseline = (weeks["weeks_back"] > 0) & weeks["observed"]
    for name, (_, higher_better) in KPIS.items():
        current = float(weeks.loc[this_week, name].iloc[0])
        base = weeks.loc[baseline, name].astype(float)
        z = z_score(current, base) if complete else float("nan")
        sd = base.std(ddof=1) if len(base) > 1 else float("nan")
        mean = base.mean() if len(base) else float("nan")
        rows.append((name, int(current), mean, sd, len(base), z, higher_better))
    columns = ["kpi", "this_week", "baseline_mean", "baseline_sd", "baseline_weeks", "z", "higher_is_better"]
    return pd.DataFrame(rows, columns=columns)


def candidates(r: Reader, kpis: pd.DataFrame) -> pd.DataFrame:
    """Every win and risk candidate: kind (win/risk), tier, magnitude, text."""
    items = []
    slo = r.df(
        """
        select slo_id, severity, evaluated_date >= $start as this_week, status,
            row_number() over (partition by slo_id order by evaluated_date desc) as rn
        from {slo_status} as slo_status
        where evaluated_date <= $as_of and evaluated_date >= cast($start as date) - interval 7 day
        """
    )
    for slo_id, rows in slo.groupby("slo_id"):
        breach_now = int(((rows["status"] == "breach") & rows["this_week"]).sum())
        breach_before = int(((rows["status"] == "breach") & ~rows["this_week"]).sum())
        latest = rows.loc[rows["rn"] == 1, "status"].iloc[0]
        if breach_now:
            severity = rows["severity"].iloc[0]
            items.append(
                (
                    "risk",
                    1,
                    (10 if severity == "error" else 0) + breach_now,
                    f"SLO {slo_id} ({severity}) breached on {breach_now} day(s) this week",
                )
            )
        elif breach_before and latest == "pass":
            items.append(
                (
                    "win",
                    1,
                    breach_before,
                    f"SLO {slo_id} recovered: passes after {breach_before} breach day(s) the week before",
                )
            )
    readouts = r.df(
        """
        select readouts.experiment_id, readouts.variant, readouts.metric_name, readouts.metric_role,
            readouts.absolute_lift, readouts.ci_low, readouts.ci_high, readouts.test_statistic,
            metrics.is_higher_better
        from marts.fct_experiment_readouts as readouts
        inner join marts.dim_experiments as registry
            on registry.experiment_id = readouts.experiment_id
        left join registry.experiment_metrics as metrics on metrics.metric_name = readouts.metric_name
        where registry.end_date < $as_of and registry.end_date >= cast($as_of as date) - interval (?) day
            and readouts.is_significant and readouts.is_trustworthy and readouts.variant <> 'holdout'
            and readouts.variant <> 'control'
        """.replace("(?)", str(EXPERIMENT_DAYS))
    )
    for row in readouts.itertuples():
        good = (row.absolute_lift > 0) == bool(row.is_higher_better)
        items.append(
            (
                "win" if good else "risk",
                2,
                abs(float(row.test_statistic)),
                f"{row.experiment_id} ({row.variant}) moved {row.metric_name} ({row.metric_role}) by "
                f"{row.absolute_lift:+.3f} [{row.ci_low:+.3f}, {row.ci_high:+.3f}]",
            )
        )
    for row in kpis.itertuples():
        if pd.notna(row.z) and abs(row.z) >= Z_MOVE:
            good = (row.z > 0) == row.higher_is_better
            z = f"z {row.z:+.2f}" if math.isfinite(row.z) else "a flat baseline: every week the same"
            items.append(
                (
                    "win" if good else "risk",
                    3,
                    abs(float(row.z)),
                    f"{row.kpi}: {row.this_week:.0f} this week vs {row.baseline_mean:.1f} a week over the "
                    f"{row.baseline_weeks} weeks before ({z})",
                )
            )
    frame = pd.DataFrame(items, columns=["kind", "tier", "magnitude", "text"])
    return frame.sort_values(["tier", "magnitude", "text"], ascending=[True, False, True]).reset_index(
        drop=True
    )


def top(frame: pd.DataFrame, kind: str, n: int = 3) -> list[str]:
    return list(frame.loc[frame["kind"] == kind, "text"].head(n))


def tickets(r: Reader, baseline_weeks: int = BASELINE_WEEKS) -> pd.DataFrame:
    """Support tickets per theme (the ticket's topic): this week and the weekly mean of the
    ``baseline_weeks`` observed weeks before (NaN when the data covers none)."""
    frame = r.df(
        f"""
        select coalesce(json_extract_string(properties, '$.topic'), '(none)') as theme,
            count(case when occurred_date >= $start then 1 end) as this_week,
            count(case when occurred_date < $start then 1 end) * 1.0
                / nullif({baseline_weeks}, 0) as weekly_mean_before
        from {{events}}
        where event_name = 'support_ticket_created'
            and occurred_date >= cast($start as date) - interval {7 * baseline_weeks} day
        group by 1 order by 1
        """
    )
    return frame


def nps(r: Reader) -> pd.DataFrame:
    """NPS over answers in the last 28 days and the 28 before: % promoters (9-10) - % detractors (0-6)."""
    return r.df(
        """
        with answers as (
            select case when occurred_date > cast($as_of as date) - interval 28 day then 'last 28 days'
                else 'the 28 days before' end as period,
                try_cast(json_extract_string(properties, '$.score') as integer) as score
            from {events}
            where event_name = 'nps_submitted' and occurred_date > cast($as_of as date) - interval 56 day
        )
        select period, count(score) as responses,
            100.0 * (count(case when score >= 9 then 1 end) - count(case when score <= 6 then 1 end))
                / nullif(count(score), 0) as nps
        from answers group by period order by period
        """
    )


def instrumentation(r: Reader) -> pd.DataFrame:
    return r.df(
        """
        select activity_date, rollup_level, event_name, source, platform, schema_version, event_count,
            expected_count, flag_reason
        from marts.fct_instrumentation_qa_daily
        where is_flagged and activity_date <= $as_of and activity_date >= $start
        order by activity_date desc, rollup_level, event_name, source, platform, schema_version
        """
    )


def rollout_sections(r: Reader) -> Section:
    section = Section("Rollouts")
    adopted = rollout.adoptions(r)
    if adopted.empty:
        return section.text("No staggered rollout (no feature_enabled event with enabled_by = rollout) yet.")
    section.text(
        f"Effect of each staggered rollout on the mean {rollout.OUTCOME_PROPERTY} of "
        f"{rollout.OUTCOME_FEATURE} uses per account-week (Callaway & Sant'Anna, never-treated accounts as "
        "comparison, weeks end on the as-of day)."
    )
    for feature, accounts in adopted.groupby("feature_name"):
        effects, note = rollout.estimate(rollout.panel(r, accounts))
        section.subtitle(f"{feature}: {len(accounts)} accounts adopted")
        section.text(
            note.split("; ")[0] + (f" ({len(note.split('; ')) - 1} estimation notes)" if "; " in note else "")
        )
        section.table(effects[effects["kind"] != "dynamic"].drop(columns=["event"]), empty=note)
        dynamic = effects[effects["kind"] == "dynamic"]
        section.plot(
            f"rollout_{feature}",
            plots.estimates(
                dynamic, "event", f"{feature}: effect by week since adoption", "weeks since adoption"
            ),
            f"rollout {feature}",
        )
    return section


def build(r: Reader) -> list[Section]:
    weeks = kpi_weeks(r)
    kpis = movements(weeks)
    observed = int(((weeks["weeks_back"] > 0) & weeks["observed"]).sum())
    ranked = candidates(r, kpis)
    readout = Section("Top wins and risks").text(
        "Ranked by tier (SLO, then experiment results, then metric movements vs the 4 weeks before, or "
        "those of them the data covers), then by magnitude; see docs/cadence_reports.md."
    )
    readout.subtitle("Top 3 wins").bullets(top(ranked, "win"), "ok", "no win this week")
    readout.subtitle("Top 3 risks").bullets(top(ranked, "risk"), "bad", "no risk this week")
    readout.subtitle("Weekly KPIs vs the 4 weeks before").table(kpis)
    readout.plot(
        "kpis",
        plots.paired_bars(
            list(kpis["kpi"]),
            list(kpis["this_week"]),
            list(kpis["baseline_mean"]),
            "Weekly KPIs",
            "count",
            ("this week", "mean of the 4 weeks before"),
        ),
        "weekly KPIs",
    )
    feedback = Section("Customer feedback")
    scores = nps(r)
    feedback.subtitle("NPS").table(scores, empty="No NPS answer in the last 56 days.")
    themes = tickets(r, observed)
    feedback.subtitle("Support tickets by theme").table(
        themes, empty="No support ticket in the last 5 weeks."
    )
    feedback.plot(
        "tickets_by_theme",
        plots.paired_bars(
            list(themes["theme"]),
            list(themes["this_week"]),
            list(themes["weekly_mean_before"]),
            "Support tickets by theme",
            "tickets",
            ("this week", "weekly mean of the 4 weeks before"),
        ),
        "tickets by theme",
    )
    flags = instrumentation(r)
    qa = Section("Instrumentation QA").text(
        f"{len(flags)} flagged series-days this week (marts.fct_instrumentation_qa_daily)"
        + (
            ": " + ", ".join(f"{k} {v}" for k, v in flags["flag_reason"].value_counts().sort_index().items())
            if len(flags)
            else "."
        )
    )
    qa.table(flags.head(25), empty="No instrumentation flag this week.")
    return [readout, rollout_sections(r), bandit_decisions.section(r), feedback, qa]


__all__ = ["build", "candidates", "fmt"]
