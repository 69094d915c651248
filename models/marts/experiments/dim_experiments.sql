{#- The experiment registry, published: one row per registered experiment (from the
    experiment registry file) and per automation holdout (seeds/metrics/automation_holdouts,
    `experiment_kind = 'automation_holdout'`). Readouts (`lawn readout`) look an id up here and
    read the experiment's or the holdout's path from it. An automation holdout has no
    primary metric or planned size: each action rule names its own outcome
    (fct_automation_lift); it runs from its registration on, with no end date. -#}
with

experiments as (

    select * from {{ ref('stg_experimentation__experiments') }}

),

holdouts as (

    select * from {{ ref('automation_holdouts') }}

),

registered as (

    select
        experiment_id,
        'experiment' as experiment_kind,
        hypothesis,
        randomization_unit,
        primary_metric,
        guardrail_metrics,
        minimum_detectable_effect,
        alpha,
        power,
        planned_sample_size_per_arm,
        start_date,
        end_date,
        holdout_share,
        owner,
        registered_at
    from experiments
    union all
    select
        holdout_id as experiment_id,
        'automation_holdout' as experiment_kind,
        description as hypothesis,
        unit_type as randomization_unit,
        cast(null as {{ dbt.type_string() }}) as primary_metric,
        cast(null as {{ dbt.type_string() }}) as guardrail_metrics,
        cast(null as {{ type_double() }}) as minimum_detectable_effect,
        cast(null as {{ type_double() }}) as alpha,
        cast(null as {{ type_double() }}) as power,
        cast(null as {{ dbt.type_int() }}) as planned_sample_size_per_arm,
        cast(registered_at as date) as start_date,
        cast(null as date) as end_date,
        holdout_share,
        owner,
        registered_at
    from holdouts

),

final as (

    select * from registered

)

select * from final
