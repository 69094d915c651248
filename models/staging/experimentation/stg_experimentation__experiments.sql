{#- One row per registered experiment, typed; in a replay (var as_of_date) only the
    experiments registered by the end of that day. -#}
with

experiment_registry as (

    select * from {{ source('experimentation', 'experiment_registry') }}

),

typed as (

    select
        trim(experiment_id) as experiment_id,
        hypothesis,
        lower(trim(randomization_unit)) as randomization_unit,
        trim(primary_metric) as primary_metric,
        -- metric ids hold no spaces: `error_rate | activated_7d` (a hand-typed list) is
        -- `error_rate|activated_7d`; empty items are ignored (`a||b|`, a spreadsheet's
        -- trailing separator, is `a|b`), as the raw gate ignores them; an empty list is none
        nullif(
            {{ regexp_replace_all(
                regexp_replace_all("replace(trim(guardrail_metrics), ' ', '')", "'[|]+'", "'|'"),
                "'^[|]|[|]$'",
                "''"
            ) }},
            ''
        ) as guardrail_metrics,
        {{ try_cast('minimum_detectable_effect', type_double()) }}
            as minimum_detectable_effect,
        {{ share_from_text('alpha') }} as alpha,
        {{ share_from_text('power') }} as power,
        {{ try_cast('planned_sample_size_per_arm', dbt.type_int()) }}
            as planned_sample_size_per_arm,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        {{ share_from_text('holdout_share') }} as holdout_share,
        owner,
        {{ parse_iso_timestamp_utc('trim(registered_at)', untrimmed='registered_at') }}
            as registered_at
    from experiment_registry

),

final as (

    select * from typed
    where {{ is_known_as_of('registered_at') }}

)

select * from final
