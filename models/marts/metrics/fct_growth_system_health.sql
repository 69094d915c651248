{#- Downstream of the action-export ledger: `lawn nightly` builds it after the export
    (source:ops.action_exports+; lawn/landing.py), so it sees that run's hand-offs.
    Operating metrics of the growth system itself, per calendar month: experiment velocity
    (registered experiments running, started and ended in the month, and how many of the
    running ones have a significant, trustworthy primary result in their current readout), the month's data
    quality (valid share, attributed share and data quality score over first deliveries
    received in the month), SLO health (evaluations and breaches) and time-to-action: of
    the next-best actions decided on the month's data, how many were handed off and the
    median hours from the insight (end of the decision day) to the export. -#}
with

experiments as (

    select * from {{ ref('stg_experimentation__experiments') }}

),

data_quality as (

    select * from {{ ref('fct_data_quality_daily') }}

),

primary_results as (

    select
        experiment_id,
        is_significant and is_trustworthy as is_significant_result
    from {{ ref('fct_experiment_readouts') }}
    where is_primary_metric and variant = 'treatment'

),

slo_status as (

    select * from {{ ref('fct_slo_status') }}

),

action_exports as (

    select * from {{ ref('fct_action_exports') }}
    where record_type = 'action'

),

calendar as (

    select distinct month_start from {{ ref('int_calendar_days') }}

),

quality_by_month as (

    select
        cast({{ dbt.date_trunc('month', 'received_date') }} as date) as month_start,
        cast(sum(delivered_count - duplicate_count) as {{ dbt.type_bigint() }})
            as first_deliveries,
        cast(sum(valid_count) as {{ dbt.type_bigint() }}) as valid_events,
        cast(sum(attributed_count) as {{ dbt.type_bigint() }}) as attributed_events
    from data_quality
    group by 1

),

months as (

    select calendar.month_start
    from calendar
    inner join quality_by_month on calendar.month_start = quality_by_month.month_start

),

experiment_velocity as (

    select
        months.month_start,
        count(case
            when
                experiments.start_date
                < cast({{ dbt.dateadd('month', 1, 'months.month_start') }} as date)
                and experiments.end_date >= months.month_start
                then 1
        end) as experiments_running,
        count(case
            when cast({{ dbt.date_trunc('month', 'experiments.start_date') }} as date)
                = months.month_start
                then 1
        end) as experiments_started,
        count(case
            when cast({{ dbt.date_trunc('month', 'experiments.end_date') }} as date)
                = months.month_start
                then 1
        end) as experiments_ended,
        count(case
            when
                experiments.start_date
                < cast({{ dbt.dateadd('month', 1, 'months.month_start') }} as date)
                and experiments.end_date >= months.month_start
                and primary_results.is_significant_result
                then 1
        end) as experiments_significant
    from months
    cross join experiments
    left join primary_results on experiments.experiment_id = primary_results.experiment_id
    group by 1

),

slo_by_month as (

    select
        cast({{ dbt.date_trunc('month', 'evaluated_date') }} as date) as month_start,
        count(*) as slo_evaluations,
        count(case when status = 'breach' then 1 end) as slo_breaches
    from slo_status
    group by 1

),

time_to_action as (

    select
        cast({{ dbt.date_trunc('month', 'decided_on') }} as date) as month_start,
        count(*) as actions_exported,
        {{ median('hours_to_action') }} as median_hours_to_action
    from action_exports
    group by 1

),

final as (

    select
        months.month_start,
        coalesce(experiment_velocity.experiments_running, 0) as experiments_running,
        coalesce(experiment_velocity.experiments_started, 0) as experiments_started,
        coalesce(experiment_velocity.experiments_ended, 0) as experiments_ended,
        coalesce(experiment_velocity.experiments_significant, 0) as experiments_significant,
        cast(experiment_velocity.experiments_significant as {{ type_double() }})
        / nullif(experiment_velocity.experiments_running, 0) as significant_share,
        quality_by_month.first_deliveries,
        quality_by_month.valid_events,
        quality_by_month.attributed_events,
        cast(quality_by_month.valid_events as {{ type_double() }})
        / nullif(quality_by_month.first_deliveries, 0) as valid_share,
        cast(quality_by_month.attributed_events as {{ type_double() }})
        / nullif(quality_by_month.valid_events, 0) as attributed_share,
        cast(quality_by_month.attributed_events as {{ type_double() }})
        / nullif(quality_by_month.first_deliveries, 0) as data_quality_score,
        coalesce(slo_by_month.slo_evaluations, 0) as slo_evaluations,
        coalesce(slo_by_month.slo_breaches, 0) as slo_breaches,
        coalesce(time_to_action.actions_exported, 0) as actions_exported,
        cast(time_to_action.median_hours_to_action as {{ type_double() }})
            as median_hours_to_action
    from months
    inner join quality_by_month on months.month_start = quality_by_month.month_start
    left join experiment_velocity on months.month_start = experiment_velocity.month_start
    left join slo_by_month on months.month_start = slo_by_month.month_start
    left join time_to_action on months.month_start = time_to_action.month_start

)

select * from final
