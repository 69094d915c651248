{#- One row per included unit of an experiment and metric the registry names for it (its
    primary and guardrails, measured as seeds/metrics/experiment_metrics.csv says): the
    value (numerator), the denominator (1 except for ratio metrics), the same metric in the
    window before exposure (CUPED's covariate; 0 where no pre-exposure value exists, e.g.
    activation of a new person) and whether the window is over. A table: the arm statistics,
    the published fct_experiment_unit_metrics and the key tests read it, and as a view each
    of them recomputed the join of every unit with its events (docs/incremental_tests.md).
    Only events a metric counts are joined: their names, inside the pre-exposure window
    start and the measurement window end (the counts below ignore every other event). -#}
{{ config(materialized='table') }}
with

assignments as (

    select * from {{ ref('int_experiment_assignments') }}
    where is_included

),

experiments as (

    select * from {{ ref('stg_experimentation__experiments') }}

),

catalog as (

    select * from {{ ref('experiment_metrics') }}

),

milestones as (

    select * from {{ ref('int_activation_milestones') }}

),

counted_event_names as (

    select event_name from catalog
    where source = 'event_count'
    union
    select denominator_event_name as event_name from catalog
    where source = 'event_count' and denominator_event_name is not null

),

events as (

    select
        event_name,
        occurred_at,
        person_id,
        account_id
    from {{ ref('int_events_attributed') }}
    where event_name in (select counted_event_names.event_name from counted_event_names)

),

plan_changes as (

    -- the account's MRR after each change (a cancellation is $0, first at the same instant:
    -- int_account_plan_changes)
    select
        event_id,
        account_id,
        occurred_at,
        mrr_usd,
        same_time_order
    from {{ ref('int_account_plan_changes') }}

),

as_of as (

    select * from {{ ref('int_data_day') }}

),

unit_metrics as (

    select
        assignments.assignment_key,
        assignments.experiment_id,
        assignments.unit_type,
        assignments.unit_id,
        assignments.variant,
        assignments.first_exposed_at,
        catalog.metric_name,
        catalog.metric_type,
        catalog.source,
        catalog.milestone_name,
        catalog.event_name,
        catalog.denominator_event_name,
        catalog.window_days,
        case
            when catalog.metric_name = experiments.primary_metric then 'primary' else 'guardrail'
        end as metric_role,
        cast(
            {{ dbt.dateadd('day', 'catalog.window_days', 'assignments.first_exposed_at') }}
            as {{ dbt.type_timestamp() }}
        ) as window_end_at,
        cast(
            {{ dbt.dateadd('day', '-catalog.window_days', 'assignments.first_exposed_at') }}
            as {{ dbt.type_timestamp() }}
        ) as pre_window_start_at
    from assignments
    inner join experiments on assignments.experiment_id = experiments.experiment_id
    inner join catalog
        on
            assignments.unit_type = catalog.unit_type
            and {{ list_has_item(
                "experiments.primary_metric || '|' || coalesce(experiments.guardrail_metrics, '')",
                'catalog.metric_name'
            ) }}

),

from_milestones as (

    select
        unit_metrics.assignment_key,
        unit_metrics.metric_name,
        case when milestones.is_reached_in_window then 1.0 else 0.0 end as metric_value,
        1.0 as denominator_value,
        0.0 as pre_value,
        coalesce(milestones.is_window_complete, false) as is_observable
    from unit_metrics
    left join milestones
        on
            unit_metrics.unit_type = milestones.entity_type
            and unit_metrics.unit_id = milestones.entity_id
            and unit_metrics.milestone_name = milestones.milestone_name
    where unit_metrics.source = 'milestone'

),

unit_events as (

    select
        unit_metrics.assignment_key,
        unit_metrics.metric_name,
        events.event_name,
        events.occurred_at
    from unit_metrics
    inner join events
        on
            unit_metrics.unit_type = 'user'
            and unit_metrics.unit_id = events.person_id
            and events.event_name in (
                unit_metrics.event_name, unit_metrics.denominator_event_name
            )
            and unit_metrics.pre_window_start_at <= events.occurred_at
            and unit_metrics.window_end_at > events.occurred_at
    where unit_metrics.source = 'event_count'
    union all
    select
        unit_metrics.assignment_key,
        unit_metrics.metric_name,
        events.event_name,
        events.occurred_at
    from unit_metrics
    inner join events
        on
            unit_metrics.unit_type = 'account'
            and unit_metrics.unit_id = events.account_id
            and events.event_name in (
                unit_metrics.event_name, unit_metrics.denominator_event_name
            )
            and unit_metrics.pre_window_start_at <= events.occurred_at
            and unit_metrics.window_end_at > events.occurred_at
    where unit_metrics.source = 'event_count'

),

from_events as (

    select
        unit_metrics.assignment_key,
        unit_metrics.metric_name,
        cast(count(case
            when
                unit_events.event_name = unit_metrics.event_name
                and unit_events.occurred_at >= unit_metrics.first_exposed_at
                and unit_events.occurred_at < unit_metrics.window_end_at
                then 1
        end) as {{ type_double() }}) as metric_value,
        case
            when unit_metrics.denominator_event_name is null then 1.0
            else cast(count(case
                    when
                        unit_events.event_name = unit_metrics.denominator_event_name
                        and unit_events.occurred_at >= unit_metrics.first_exposed_at
                        and unit_events.occurred_at < unit_metrics.window_end_at
                        then 1
                end) as {{ type_double() }})
        end as denominator_value,
        cast(count(case
            when
                unit_events.event_name = unit_metrics.event_name
                and unit_events.occurred_at >= unit_metrics.pre_window_start_at
                and unit_events.occurred_at < unit_metrics.first_exposed_at
                then 1
        end) as {{ type_double() }}) as pre_value,
        max(unit_metrics.window_end_at) <= max(as_of.data_end_at) as is_observable
    from unit_metrics
    cross join as_of
    left join unit_events
        on
            unit_metrics.assignment_key = unit_events.assignment_key
            and unit_metrics.metric_name = unit_events.metric_name
    where unit_metrics.source = 'event_count'
    group by
        unit_metrics.assignment_key,
        unit_metrics.metric_name,
        unit_metrics.denominator_event_name

),

mrr_candidates as (

    select
        unit_metrics.assignment_key,
        unit_metrics.metric_name,
        plan_changes.mrr_usd,
        plan_changes.occurred_at <= unit_metrics.first_exposed_at as is_before_exposure,
        row_number() over (
            partition by unit_metrics.assignment_key, unit_metrics.metric_name
            order by
                plan_changes.occurred_at desc,
                plan_changes.same_time_order desc,
                plan_changes.event_id desc
        ) as recency_rank,
        row_number() over (
            partition by
                unit_metrics.assignment_key,
                unit_metrics.metric_name,
                plan_changes.occurred_at <= unit_metrics.first_exposed_at
            order by
                plan_changes.occurred_at desc,
                plan_changes.same_time_order desc,
                plan_changes.event_id desc
        ) as recency_rank_in_period
    from unit_metrics
    inner join plan_changes
        on
            unit_metrics.unit_id = plan_changes.account_id
            and unit_metrics.window_end_at >= plan_changes.occurred_at
    where unit_metrics.source = 'mrr'

),

from_mrr as (

    select
        unit_metrics.assignment_key,
        unit_metrics.metric_name,
        cast(
            coalesce(
                max(case when mrr_candidates.recency_rank = 1 then mrr_candidates.mrr_usd end), 0
            )
            as {{ type_double() }}
        ) as metric_value,
        1.0 as denominator_value,
        cast(coalesce(max(case
            when mrr_candidates.is_before_exposure and mrr_candidates.recency_rank_in_period = 1
                then mrr_candidates.mrr_usd
        end), 0) as {{ type_double() }}) as pre_value,
        max(unit_metrics.window_end_at) <= max(as_of.data_end_at) as is_observable
    from unit_metrics
    cross join as_of
    left join mrr_candidates
        on
            unit_metrics.assignment_key = mrr_candidates.assignment_key
            and unit_metrics.metric_name = mrr_candidates.metric_name
    where unit_metrics.source = 'mrr'
    group by unit_metrics.assignment_key, unit_metrics.metric_name

),

measured as (

    select * from from_milestones
    union all
    select * from from_events
    union all
    select * from from_mrr

),

final as (

    select
        unit_metrics.assignment_key || ':' || unit_metrics.metric_name as unit_metric_key,
        unit_metrics.experiment_id,
        unit_metrics.unit_type,
        unit_metrics.unit_id,
        unit_metrics.variant,
        unit_metrics.first_exposed_at,
        unit_metrics.metric_name,
        unit_metrics.metric_type,
        unit_metrics.metric_role,
        measured.metric_value,
        measured.denominator_value,
        measured.pre_value,
        measured.is_observable
    from unit_metrics
    inner join measured
        on
            unit_metrics.assignment_key = measured.assignment_key
            and unit_metrics.metric_name = measured.metric_name

)

select * from final
