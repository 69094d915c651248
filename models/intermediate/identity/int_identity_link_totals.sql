{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='delete+insert',
        unique_key=['left_key', 'right_key'],
        on_schema_change='fail',
        pre_hook=["{{ refuse_incremental_replay() }}"],
        post_hook=(
            [] if target.type == 'spark' else ["{{ delete_identity_link_total_tombstones() }}"]
        )
    )
}}
{#- The link days added up per pair, blocked keys included (int_identity_links leaves out the
    pairs with a key blocked now). Incremental on DuckDB and PostgreSQL
    (docs/incremental_identity_links.md, "Totals"): a run adds up again, over all their days,
    only the pairs whose days int_identity_link_days may have recounted or dropped since this
    table's last run: identity_link_days_window read on this table gives the days the link
    days recounted since (its newest receive time is theirs when it last ran). Those are the
    pairs with a link day from `start` on, before `oldest_next` or without a receive day, and
    the pairs this table holds with such a day. delete+insert replaces them; a pair with no
    day left comes back with a null event_count, and the post-hook deletes it. An erasure
    drops this table (lawn/privacy.py): link days it deleted may be older than `start`. A
    table on Spark. -#}
-- depends_on: {{ ref('int_identity_observations') }}
{%- set window = identity_link_days_window() %}
with

link_days as (

    select * from {{ ref('int_identity_link_days') }}

),

changed_pairs as (

    -- none on a full refresh: every pair is added up below
    select distinct
        left_key,
        right_key
    from link_days
    {% if window is none -%}
        where 1 = 0
    {%- else -%}
        where
            received_date is null
            or received_date >= cast('{{ window.start }}' as date)
            or received_date < cast('{{ window.oldest_next }}' as date)
        union
        select
            left_key,
            right_key
        from {{ this }}
        where
            last_received_at is null
            or first_received_date is null
            or cast(last_received_at as date) >= cast('{{ window.start }}' as date)
            or first_received_date < cast('{{ window.oldest_next }}' as date)
    {%- endif %}

),

days_to_add as (

    select link_days.*
    from link_days
    {% if window is not none -%}
        inner join changed_pairs
            on
                link_days.left_key = changed_pairs.left_key
                and link_days.right_key = changed_pairs.right_key
    {%- endif %}

),

added as (

    select
        left_key,
        right_key,
        min(first_seen_at) as first_seen_at,
        cast(sum(event_count) as {{ dbt.type_bigint() }}) as event_count,
        min(received_date) as first_received_date,
        max(last_received_at) as last_received_at
    from days_to_add
    group by left_key, right_key

),

-- a changed pair without days left: a row with a null event_count (delete+insert removes
-- the stored one), deleted by the post-hook
gone as (

    select
        changed_pairs.left_key,
        changed_pairs.right_key
    from changed_pairs
    left join added
        on
            changed_pairs.left_key = added.left_key
            and changed_pairs.right_key = added.right_key
    where added.left_key is null

),

final as (

    select
        left_key,
        right_key,
        first_seen_at,
        event_count,
        first_received_date,
        last_received_at
    from added
    union all
    select
        left_key,
        right_key,
        cast(null as {{ dbt.type_timestamp() }}) as first_seen_at,
        cast(null as {{ dbt.type_bigint() }}) as event_count,
        cast(null as date) as first_received_date,
        cast(null as {{ dbt.type_timestamp() }}) as last_received_at
    from gone

)

select * from final
