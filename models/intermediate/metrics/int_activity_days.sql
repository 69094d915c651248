{#- One row per account and per person and day they were active: did at least one of the
    events listed in var activity_event_names (their own actions, not emails sent to them),
    with how many such events they have that day.
    Stored: fct_retention_cohorts and the key test read it, and as a view each of them
    recomputed the two DISTINCTs over every event (docs/performance.md, "Two more views read
    many times"). Person-level rows: an erasure's rebuild recomputes it (docs/privacy.md).
    Incremental on DuckDB and PostgreSQL (a table on Spark): a run applies the rows
    int_events_attributed's change log holds since this model's last run as deltas to the
    day's event count (a day whose count reaches 0 is deleted), instead of reading history
    (docs/incremental_attribution.md, "The change log"). Without a usable log (first run, a
    full refresh of the events, an erasure or a retention run since, a gap of more than 30
    runs, another list of activity events) it rebuilds in full. -#}
{%- set since = changes_since_consumed(activity_days_fingerprint()) %}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='activity_day_key',
    on_schema_change='fail',
    pre_hook="{{ delete_all_to_rebuild(activity_days_fingerprint()) }}",
    post_hook=[
        "{{ delete_days_without_activity() }}",
        "{{ save_consumed_changes(activity_days_fingerprint()) }}",
    ]
) }}
with

events as (

    {% if since is none -%}
        select
            1 as change_sign,
            source_rows.person_id,
            source_rows.account_id,
            source_rows.occurred_date
        from {{ ref('int_events_attributed') }} as source_rows
    {%- else -%}
        select
            source_rows.change_sign,
            source_rows.person_id,
            source_rows.account_id,
            source_rows.occurred_date
        from {{ changed_rows(since) }} as source_rows
    {%- endif %}
    where source_rows.event_name in (
            {%- for name in var('activity_event_names') %}
                '{{ name }}'{% if not loop.last %},{% endif %}
            {%- endfor %}
        )

),

entity_days as (

    select
        'account' as entity_type,
        account_id as entity_id,
        occurred_date as activity_date,
        sum(change_sign) as activity_events
    from events
    where account_id is not null
    group by account_id, occurred_date
    union all
    select
        'user' as entity_type,
        person_id as entity_id,
        occurred_date as activity_date,
        sum(change_sign) as activity_events
    from events
    where person_id is not null
    group by person_id, occurred_date

),

keyed as (

    select
        entity_type || ':' || entity_id || ':' || cast(activity_date as {{ dbt.type_string() }})
            as activity_day_key,
        entity_type,
        entity_id,
        activity_date,
        cast(activity_events as {{ dbt.type_bigint() }}) as activity_events
    from entity_days

)

{% if since is none -%}
    select * from keyed
{%- else -%}
    -- the days whose count changed, with their new count (0: deleted by the post-hook)
    select
        keyed.activity_day_key,
        keyed.entity_type,
        keyed.entity_id,
        keyed.activity_date,
        cast(coalesce(kept.activity_events, 0) + keyed.activity_events as {{ dbt.type_bigint() }})
            as activity_events
    from keyed
    left join {{ this }} as kept on keyed.activity_day_key = kept.activity_day_key
    where keyed.activity_events != 0
{%- endif %}
