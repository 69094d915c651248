{#- Daily volume of every event series, zero-filled: one row per activity day and series
    (event_name x source x platform x schema_version) from the day the series is first
    seen to the last day of data, at three rollup levels sharing the grain: `version`,
    `platform` (schema_version '(all)') and `day` (all four keys '(all)'). Every first
    delivery counts, valid or quarantined, on the UTC day it occurred (its receive day when
    the client time is missing or quarantined as implausible), with how many arrived before
    the day ended and before 48 hours after it ended, its distinct senders and its declared
    and present properties. Read by fct_instrumentation_qa_daily.
    Incremental on DuckDB and PostgreSQL (docs/incremental_increment_models.md): a run
    rebuilds the rows of the activity days a delivery of int_events_validated's rebuilt
    window counts (or counted) on, and of the days after the last other day with events
    (volume_rebuild_days; the pre-hook deletes those rows), from every first delivery of
    those days, and keeps the other days' rows; a series' first day and unknown flag
    combine the kept days with the rebuilt ones, the zero-filled days a series' earlier
    first day adds are inserted, and the post-hook settles the kept rows' first day and
    flag. On Spark a table. -#}
{%- set rebuild = volume_rebuild_days() if is_incremental() else none -%}
{%- if is_incremental() and rebuild is none -%}
    {#- parse and compilation without a warehouse: nothing to rebuild -#}
    {%- set rebuild = {'days': [], 'after': '9999-12-31', 'received_since': '9999-12-31'} -%}
{%- endif %}
{%- set received_since = rebuild['received_since'] if is_incremental() else none -%}
{#- on_schema_change: a table from before the watermark column gets it, and
    volume_rebuild_days then rebuilds every day once -#}
{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook=["{{ delete_volume_rebuild_days() }}"],
        post_hook=[
            "{{ spread_unknown_event_flag() }}",
            "{{ settle_volume_first_seen_dates('delete') }}",
            "{{ settle_volume_first_seen_dates('update') }}",
        ],
    )
}}

{#- the measures of every rollup level (version, platform, day), over the rows of `timed` -#}
{%- set volume_measures -%}
count(*) as event_count,
        count(distinct sender_id) as sender_count,
        sum(case when delivery_status = 'valid' then 1 else 0 end) as valid_count,
        sum(case when delivery_status = 'quarantined' then 1 else 0 end)
            as quarantined_count,
        sum(case when is_on_time then 1 else 0 end) as on_time_count,
        sum(case when is_within_48h then 1 else 0 end) as within_48h_count,
        sum(declared_property_count) as declared_property_count,
        sum(present_property_count) as present_property_count,
        max(received_at) as last_received_at
{%- endset %}

{#- an incremental run reads the first deliveries counting on a rebuilt day, all received
    at or after received_since (volume_rebuild_days); their declared and present property
    counts come with them (int_events_validated counts them when it checks the properties) -#}

with

first_deliveries as (

    select * from {{ ref('int_events_validated') }}
    where
        delivery_number = 1 and received_at is not null
        {% if is_incremental() %}
            and received_at >= cast('{{ received_since }}' as {{ dbt.type_timestamp() }})
        {% endif %}

),

placed as (

    select
        coalesce(first_deliveries.event_name, '(missing)') as event_name,
        coalesce(first_deliveries.source, '(missing)') as source,
        coalesce({{ shown_text('first_deliveries.context_platform') }}, '(none)') as platform,
        coalesce(
            cast(first_deliveries.schema_version as {{ dbt.type_string() }}),
            first_deliveries.schema_version_raw,
            '(missing)'
        ) as schema_version,
        {{ volume_activity_date('first_deliveries') }} as activity_date,
        coalesce(
            first_deliveries.device_id,
            first_deliveries.anonymous_id,
            first_deliveries.user_id,
            first_deliveries.account_id
        ) as sender_id,
        first_deliveries.received_at,
        first_deliveries.delivery_status,
        '|' || coalesce(first_deliveries.reason_codes, '') || '|'
        like '%|UNKNOWN_EVENT|%' as is_unknown_event,
        first_deliveries.declared_property_count,
        first_deliveries.present_property_count
    from first_deliveries

),

timed as (

    select
        placed.*,
        placed.received_at < {{ dbt.dateadd(
            'day', 1, 'cast(placed.activity_date as ' ~ dbt.type_timestamp() ~ ')'
        ) }} as is_on_time,
        placed.received_at < {{ dbt.dateadd(
            'day', 3, 'cast(placed.activity_date as ' ~ dbt.type_timestamp() ~ ')'
        ) }} as is_within_48h
    from placed
    {% if is_incremental() %}
        where {{ volume_is_rebuilt_day('placed.activity_date', rebuild) }}
    {% endif %}

),

-- the three rollup levels in one aggregate: the deliveries are read, placed
-- and timed once, where three aggregates of `timed` computed them once each (10.2M events:
-- 12.1 s against 16.7-18.2 s, docs/full_build_cost.md). A rolled-up key is null in the output
-- (the keys themselves never are: `placed` fills them), and grouping() tells the levels apart
observed as (

    select
        case
            when grouping(event_name) = 1 then 'day'
            when grouping(schema_version) = 1 then 'platform'
            else 'version'
        end as rollup_level,
        activity_date,
        coalesce(event_name, '(all)') as event_name,
        coalesce(source, '(all)') as source,
        coalesce(platform, '(all)') as platform,
        coalesce(schema_version, '(all)') as schema_version,
        case
            when grouping(event_name) = 1 then 0
            else max(case when is_unknown_event then 1 else 0 end)
        end as unknown_flag,
        {{ volume_measures }}
    from timed
    -- the sets (day, series with its version), (day, series) and (day): ROLLUP over the
    -- series keys as one element, then the version (portable: DuckDB, PostgreSQL, Spark)
    group by activity_date, rollup((event_name, source, platform), schema_version)

),

{% if is_incremental() %}
    kept as (

        {#- the days this run keeps (the pre-hook deleted the others) -#}
        select * from {{ this }}
        where not {{ volume_is_rebuilt_day('activity_date', rebuild) }}

    ),

    series_days as (

        select
            rollup_level,
            event_name,
            source,
            platform,
            schema_version,
            unknown_flag,
            activity_date
        from observed
        union all
        select
            rollup_level,
            event_name,
            source,
            platform,
            schema_version,
            max(case when is_unknown_event then 1 else 0 end) as unknown_flag,
            {#- the first kept day with events: the table's first_seen_date may be a
                rebuilt day that has none now -#}
            min(case when event_count > 0 then activity_date end) as activity_date
        from kept
        group by rollup_level, event_name, source, platform, schema_version

    ),

    data_days as (

        select activity_date from observed
        union all
        select max(activity_date) as activity_date from kept
        where event_count > 0

    ),
{% else %}
    series_days as (

        select * from observed

    ),

    data_days as (

        select activity_date from observed

    ),
{% endif %}

series as (

    select
        rollup_level,
        event_name,
        source,
        platform,
        schema_version,
        max(unknown_flag) = 1 as is_unknown_event,
        min(activity_date) as first_seen_date
    from series_days
    group by rollup_level, event_name, source, platform, schema_version

),

data_window as (

    select max(activity_date) as last_date from data_days

),

calendar as (

    select date_day from {{ ref('int_calendar_days') }}

),

grid as (

    select
        series.rollup_level,
        calendar.date_day as activity_date,
        series.event_name,
        series.source,
        series.platform,
        series.schema_version,
        series.is_unknown_event,
        series.first_seen_date
    from series
    cross join data_window
    inner join calendar
        on
            series.first_seen_date <= calendar.date_day
            and data_window.last_date >= calendar.date_day

),

{% if is_incremental() %}
    rebuilt_grid as (

        {#- the rebuilt days, and the kept days a series has no row on yet (its first day
            moved earlier, or it is new): zero-filled, no delivery counts on them -#}
        select grid.*
        from grid
        where
            {{ volume_is_rebuilt_day('grid.activity_date', rebuild) }}
            or not exists (
                select 1
                from kept
                where
                    kept.rollup_level = grid.rollup_level
                    and kept.activity_date = grid.activity_date
                    and kept.event_name = grid.event_name
                    and kept.source = grid.source
                    and kept.platform = grid.platform
                    and kept.schema_version = grid.schema_version
            )

    ),
{% else %}
    rebuilt_grid as (

        select * from grid

    ),
{% endif %}

filled as (

    select
        rebuilt_grid.*,
        coalesce(observed.event_count, 0) as event_count,
        coalesce(observed.sender_count, 0) as sender_count,
        coalesce(observed.valid_count, 0) as valid_count,
        coalesce(observed.quarantined_count, 0) as quarantined_count,
        coalesce(observed.on_time_count, 0) as on_time_count,
        coalesce(observed.within_48h_count, 0) as within_48h_count,
        coalesce(observed.declared_property_count, 0) as declared_property_count,
        coalesce(observed.present_property_count, 0) as present_property_count,
        observed.last_received_at
    from rebuilt_grid
    left join observed
        on
            rebuilt_grid.rollup_level = observed.rollup_level
            and rebuilt_grid.activity_date = observed.activity_date
            and rebuilt_grid.event_name = observed.event_name
            and rebuilt_grid.source = observed.source
            and rebuilt_grid.platform = observed.platform
            and rebuilt_grid.schema_version = observed.schema_version

)

select * from filled
