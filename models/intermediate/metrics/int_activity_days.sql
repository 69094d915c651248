{#- One row per account and per person and day they were active: did at least one of the
    events listed in var activity_event_names (their own actions, not emails sent to them).
    A table: fct_retention_cohorts and the key test read it, and as a view each of them
    recomputed the two DISTINCTs over every event (docs/performance.md, "Two more views read
    many times"). Person-level rows: an erasure's rebuild recomputes it (docs/privacy.md).
    Incremental on DuckDB and PostgreSQL (a table on Spark): a run recomputes only the persons
    and accounts int_events_attributed's change log names since this model's last run
    (changes_since_consumed, macros/attribution/attribution_changes.sql); the pre-hook deletes
    their rows first. Without a usable log (first run, a full refresh of the events, an
    erasure or a retention run since, a gap of more than 30 runs, another list of activity
    events) it rebuilds in full. -#}
{%- set since = changes_since_consumed(activity_days_fingerprint()) %}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_entities(activity_days_fingerprint()) }}",
    post_hook="{{ save_consumed_changes(activity_days_fingerprint()) }}"
) }}
with

{% if since is not none -%}
changed as {{ changed_entities(since) }},

{% endif -%}
events as (

    select
        attributed.person_id,
        attributed.account_id,
        attributed.occurred_date
    from {{ ref('int_events_attributed') }} as attributed
    where
        attributed.event_name in (
            {%- for name in var('activity_event_names') %}
                '{{ name }}'{% if not loop.last %},{% endif %}
            {%- endfor %}
        )
    {% if since is not none %}
            and (
                attributed.person_id in (
                    select changed.entity_id from changed where changed.entity_type = 'user'
                )
                or attributed.account_id in (
                    select changed.entity_id from changed where changed.entity_type = 'account'
                )
            )
    {% endif %}

),

account_days as (

    select distinct
        'account' as entity_type,
        account_id as entity_id,
        occurred_date as activity_date
    from events
    where
        account_id is not null
    {% if since is not none %}
            and account_id in (
                select changed.entity_id from changed where changed.entity_type = 'account'
            )
    {% endif %}

),

person_days as (

    select distinct
        'user' as entity_type,
        person_id as entity_id,
        occurred_date as activity_date
    from events
    where
        person_id is not null
    {% if since is not none %}
            and person_id in (
                select changed.entity_id from changed where changed.entity_type = 'user'
            )
    {% endif %}

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
