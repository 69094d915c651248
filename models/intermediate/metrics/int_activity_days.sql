{#- One row per account and per person and day they were active: did at least one of the
    events listed in var activity_event_names (their own actions, not emails sent to them).
    A table: fct_retention_cohorts and the key test read it, and as a view each of them
    recomputed the two DISTINCTs over every event (docs/performance.md, "Two more views read
    many times"). Person-level rows: an erasure's rebuild recomputes it (docs/privacy.md). -#}
{{ config(materialized='table') }}
with

events as (

    select
        person_id,
        account_id,
        occurred_date
    from {{ ref('int_events_attributed') }}
    where event_name in (
            {%- for name in var('activity_event_names') %}
                '{{ name }}'{% if not loop.last %},{% endif %}
            {%- endfor %}
        )

),

account_days as (

    select distinct
        'account' as entity_type,
        account_id as entity_id,
        occurred_date as activity_date
    from events
    where account_id is not null

),

person_days as (

    select distinct
        'user' as entity_type,
        person_id as entity_id,
        occurred_date as activity_date
    from events
    where person_id is not null

),

final as (

    select * from account_days
    union all
    select * from person_days

)

select
    entity_type || ':' || entity_id || ':' || cast(activity_date as {{ dbt.type_string() }})
        as activity_day_key,
    entity_type,
    entity_id,
    activity_date
from final
