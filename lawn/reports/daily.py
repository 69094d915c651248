"""The daily report: funnel health, failed runs, SLOs, experiment velocity, data quality."""

from __future__ import annotations

import pandas as pd

from lawn.reports import plots
from lawn.reports.page import Section
from lawn.reports.reader import Reader

FUNNEL_DAYS = 28  # accounts created in the last 28 days, against the 28 days before
RUN_DAYS = 7
DQ_DAYS = 14
DQ_TARGET = 0.98


def funnel_health(r: Reader) -> pd.DataFrame:
    """Per funnel step: share of the accounts created in the last FUNNEL_DAYS days that reached
    it by the as-of day, against the accounts created in the FUNNEL_DAYS before that, counted
    as they stood FUNNEL_DAYS days earlier (same ages, so the two shares compare). A step
    counts as reached by a day when it happened and was received by then
    (``reached_received_at``): a late delivery does not change a report already written."""
    frame = r.df(
        """
        with steps as (select distinct funnel_step, step_name from marts.fct_funnel),
        accounts as (
            select activation.milestone_name, activation.anchor_date,
                -- known to be reached from the later of the two days
                greatest(cast(activation.reached_at as date), cast(activation.reached_received_at as date))
                    as known_reached_date
            from marts.fct_activation as activation
            where activation.entity_type = 'account' and activation.anchor_date <= $as_of
        )
        select steps.funnel_step, steps.step_name,
            count(case when anchor_date > $cur_lo then 1 end) as current_accounts,
            count(case when anchor_date > $cur_lo and known_reached_date <= $as_of then 1 end)
                as current_reached,
            count(case when anchor_date > $prev_lo and anchor_date <= $cur_lo then 1 end)
                as previous_accounts,
            count(case when anchor_date > $prev_lo and anchor_date <= $cur_lo
                and known_reached_date <= $cur_lo then 1 end) as previous_reached
        from steps left join accounts on accounts.milestone_name = steps.step_name
        group by steps.funnel_step, steps.step_name order by steps.funnel_step
        """,
        cur_lo=r.days_before(FUNNEL_DAYS),
        prev_lo=r.days_before(2 * FUNNEL_DAYS),
    )
    frame["current_share"] = frame["current_reached"] / frame["current_accounts"].where(
        frame["current_accounts"] > 0
    )
    frame["previous_share"] = frame["previous_reached"] / frame["previous_accounts"].where(
        frame["previous_accounts"] > 0
    )
    frame["change"] = frame["current_share"] - frame["previous_share"]
    return frame


def runs(r: Reader) -> pd.DataFrame:
    """The nightly runs of the RUN_DAYS data days before the as-of day (the run writing this
    report is still running, so it is left out: its status is in its own run log)."""
    if not r.has_table("ops", "nightly_runs"):
        return pd.DataFrame(columns=["run_id", "as_of_date", "status", "failed_step", "slo_breaches"])
    return r.df(
        """
        select run_id, as_of_date, status, failed_step, slo_breaches from ops.nightly_runs
        where as_of_date < $as_of and as_of_date >= $lo order by as_of_date, run_id
        """,
        lo=r.days_before(RUN_DAYS),
    )


def slo_today(r: Reader) -> pd.DataFrame:
    """Each SLO's newest evaluation on or before the as-of day."""
    return r.df(
        """
        with ranked as (
            select *, row_number() over (partition by slo_id order by evaluated_date desc) as rn
            from {slo_status} as slo_status where evaluated_date <= $as_of
        )
        select slo_id, evaluated_date, severity, comparator, threshold, metric_value, baseline_value, units,
            status
        from ranked where rn = 1 order by slo_id
        """
    )


def slo_history(r: Reader, start: object) -> pd.DataFrame:
    return r.df(
        """
        select slo_id, evaluated_date, metric_value, threshold, status from {slo_status} as slo_status
        where evaluated_date <= $as_of and evaluated_date >= $lo order by slo_id, evaluated_date
        """,
        lo=start,
    )


def experiments(r: Reader) -> pd.DataFrame:
    """Registered experiments (registered on or before the as-of day) with their state on the
    as-of day, the units exposed so far and those of them the readout would count.

    Counted from the exposures the warehouse had by the as-of day (``{events}``: occurred and
    received by then), so a re-rendered past report counts what that day's run had: a unit
    exposed only outside the experiment's dates is exposed, not included; a unit that had seen
    two variants by then is not included (fct_experiment_assignments' exclusions, judged on the
    exposures of that day; the test checks both against the mart on the whole data)."""
    frame = r.df(
        """
        with registry as (
            select experiment_id, randomization_unit, start_date, end_date from marts.dim_experiments
        ),
        exposures as (
            select registry.experiment_id, registry.start_date, registry.end_date,
                json_extract_string(events.properties, '$.variant') as variant,
                events.occurred_date,
                case when registry.randomization_unit = 'account' then events.account_id
                    else events.person_id end as unit_id
            from {events} as events
            inner join registry
                on registry.experiment_id = json_extract_string(events.properties, '$.experiment_id')
            where events.event_name = 'experiment_exposed'
        ),
        units as (
            select experiment_id, unit_id, count(distinct variant) as variants,
                count(case when occurred_date between start_date and end_date then 1 end) as in_window
            from exposures where unit_id is not null group by experiment_id, unit_id
        ),
        exposed as (
            select experiment_id, count(*) as units_exposed,
                count(case when variants <= 1 and in_window > 0 then 1 end) as units_included
            from units group by experiment_id
        )
        select registry.experiment_id, registry.start_date, registry.end_date,
            registry.planned_sample_size_per_arm, coalesce(exposed.units_exposed, 0) as units_exposed,
            coalesce(exposed.units_included, 0) as units_included
        from marts.dim_experiments as registry
        left join exposed on exposed.experiment_id = registry.experiment_id
        where registry.experiment_kind = 'experiment' and cast(registry.registered_at as date) <= $as_of
        order by registry.start_date, registry.experiment_id
        """
    )
    as_of = pd.Timestamp(r.as_of)
    start, end = pd.to_datetime(frame["start_date"]), pd.to_datetime(frame["end_date"])
    frame.insert(
        3,
        "state",
        [
            "planned" if s > as_of else "concluded" if e < as_of else "running"
            for s, e in zip(start, end, strict=True)
        ],
    )
    return frame


def velocity(frame: pd.DataFrame, as_of: object, days: int = 28) -> list[str]:
    as_of = pd.Timestamp(as_of)
    start, end = pd.to_datetime(frame["start_date"]), pd.to_datetime(frame["end_date"])
    recent = as_of - pd.Timedelta(days=days)
    return [
        f"running on the as-of day: {int((frame['state'] == 'running').sum())}",
        f"started in the last {days} days: {int(((start > recent) & (start <= as_of)).sum())}",
        f"concluded in the last {days} days: {int(((end > recent) & (end < as_of)).sum())}",
        f"planned (registered, not started): {int((frame['state'] == 'planned').sum())}",
    ]


def quality(r: Reader, days: int) -> pd.DataFrame:
    """Per receipt day of the last ``days`` (from the first day anything was received): first
    deliveries, valid ones and the two shares. A day nothing was received is a row of 0
    deliveries and no shares, not a missing row: an outage shows (a probe, 2026-12-07)."""
    return r.df(
        """
        with received as (
            select received_date, sum(first_delivery_count) as first_deliveries,
                sum(valid_count) as valid, sum(attributed_count) as attributed
            from marts.fct_data_quality_daily where received_date <= $as_of
            group by received_date
        ),
        days as (
            select cast(day as date) as received_date
            from range(
                greatest(cast($lo as date) + interval 1 day, (select min(received_date) from received)),
                cast($as_of as date) + interval 1 day,
                interval 1 day
            ) as days(day)
        )
        select days.received_date, cast(coalesce(received.first_deliveries, 0) as bigint) as first_deliveries,
            cast(coalesce(received.valid, 0) as bigint) as valid,
            received.valid * 1.0 / nullif(received.first_deliveries, 0) as valid_share,
            received.attributed * 1.0 / nullif(received.first_deliveries, 0) as data_quality_score
        from days left join received on received.received_date = days.received_date
        order by days.received_date
        """,
        lo=r.days_before(days),
    )


def build(r: Reader) -> list[Section]:
    funnel = funnel_health(r)
    funnel_section = Section("Funnel health").text(
        f"Accounts created in the last {FUNNEL_DAYS} days (to the as-of day) that reached each step by the "
        f"as-of day, against those created in the {FUNNEL_DAYS} days before, counted {FUNNEL_DAYS} days ago."
    )
    funnel_section.table(
        funnel[
            [
                "funnel_step",
                "step_name",
                "current_accounts",
                "current_reached",
                "current_share",
                "previous_accounts",
                "previous_reached",
                "previous_share",
                "change",
            ]
        ]
    )
    funnel_section.plot(
        "funnel_health",
        plots.paired_bars(
            list(funnel["step_name"]),
            list(funnel["current_share"].fillna(0)),
            list(funnel["previous_share"].fillna(0)),
            "Funnel: share of new accounts reaching each step",
            "share of the cohort",
        ),
        "funnel health",
    )
    run_rows = runs(r)
    bad = run_rows[run_rows["status"] != "success"]
    runs_section = Section("Failed runs").text(
        f"Nightly runs of the {RUN_DAYS} data days before the as-of day (ops.nightly_runs): "
        f"{len(run_rows)} runs, "
        f"{len(bad)} not successful (failed, interrupted or an SLO breach)."
    )
    runs_section.table(bad, empty="No failed run.")
    today = slo_today(r)
    history = slo_history(r, r.days_before(55))
    slo_section = Section("SLOs").text(
        f"{int((today['status'] == 'breach').sum())} of {len(today)} SLOs breach at their newest evaluation."
    )
    slo_section.table(today, empty="No SLO evaluated yet.")
    slo_section.plot("slo_history", plots.slo_history(history, "SLOs, last 56 days"), "SLO history")
    registry = experiments(r)
    exp_section = Section("Experiment velocity").bullets(velocity(registry, r.as_of))
    exp_section.table(registry, empty="No experiment registered.")
    exp_section.plot("experiments", plots.timeline(registry, r.as_of, "Experiments"), "experiment timeline")
    dq = quality(r, DQ_DAYS)
    low = dq[dq["data_quality_score"] < DQ_TARGET]
    silent = int((dq["first_deliveries"] == 0).sum())
    dq_section = Section("Data quality").text(
        f"Last {DQ_DAYS} receipt days: {len(low)} of {len(dq)} below the data quality target {DQ_TARGET}"
        + (f"; {silent} with no delivery at all." if silent else ".")
    )
    dq_section.table(dq, empty="No events received in the period.")
    dq_section.plot(
        "data_quality",
        plots.lines(
            quality(r, 28),
            "received_date",
            ["valid_share", "data_quality_score"],
            "Data quality by day of receipt, last 28 days",
            DQ_TARGET,
        ),
        "data quality trend",
    )
    return [funnel_section, runs_section, slo_section, exp_section, dq_section]
