{{ config(materialized='table') }}
{#- A table: its five readers (a model, four tests) each joined every exposure with the
    identity map as a view (docs/performance.md, "Views read many times"). -#}
{#- Every valid experiment_exposed event with its experiment's unit resolved: the person for
    user-randomised experiments (so a person's several user_ids count once), the account
    for account-randomised ones; flagged when it falls outside the registered dates. -#}
with

events as (

    select * from {{ ref('int_events_attributed') }}
    where event_name = 'experiment_exposed'

),

experiments as (

    select * from {{ ref('stg_experimentation__experiments') }}

),

parsed as (

    select
        event_id,
        occurred_at,
        person_id,
        account_id,
        {{ json_extract_scalar('properties', "'experiment_id'") }} as experiment_id,
        {{ json_extract_scalar('properties', "'variant'") }} as variant
    from events

),

final as (

    select
        parsed.event_id,
        parsed.experiment_id,
        experiments.randomization_unit as unit_type,
        case
            when experiments.randomization_unit = 'account' then parsed.account_id
            else parsed.person_id
        end as unit_id,
        parsed.account_id,
        parsed.variant,
        parsed.occurred_at as exposed_at,
        cast(parsed.occurred_at as date) < experiments.start_date as is_before_start,
        cast(parsed.occurred_at as date) > experiments.end_date as is_after_end
    from parsed
    inner join experiments on parsed.experiment_id = experiments.experiment_id

)

select * from final
