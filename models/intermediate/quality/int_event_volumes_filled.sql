{#- Daily volume of every event series, zero-filled: one row per activity day and series
    (event_name x source x platform x schema_version) from the day the series is first
    seen to the last day of data, at three rollup levels sharing the grain: `version`,
    `platform` (schema_version '(all)') and `day` (all four keys '(all)'). Every first
    delivery counts, valid or quarantined, on the UTC day it occurred (its receive day when
    the client time is missing or quarantined as implausible), with how many arrived before
    the day ended and before 48 hours after it ended, its distinct senders and its declared
    and present properties. Read by fct_instrumentation_qa_daily. A table: its seven key
    tests each recomputed it (every first delivery and its property checks) as a view
    (docs/incremental_tests.md). -#}
{{ config(materialized='table') }}

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
        sum(present_property_count) as present_property_count
{%- endset %}

with

first_deliveries as (

    select * from {{ ref('int_events_validated') }}
    where delivery_number = 1 and received_at is not null

),

property_fill as (

    select
        raw_event_key,
        count(*) as declared_property_count,
        sum(case when is_present then 1 else 0 end) as present_property_count
    from {{ ref('int_event_properties_checked') }}
    group by raw_event_key

),

placed as (

    select
        coalesce(first_deliveries.event_name, '(missing)') as event_name,
        coalesce(first_deliveries.source, '(missing)') as source,
        coalesce(first_deliveries.context_platform, '(none)') as platform,
        coalesce(
            cast(first_deliveries.schema_version as {{ dbt.type_string() }}),
            first_deliveries.schema_version_raw,
            '(missing)'
        ) as schema_version,
        case
            when
                first_deliveries.occurred_at is null
                or '|' || coalesce(first_deliveries.reason_codes, '') || '|'
                like '%|OCCURRED_%'
                or '|' || coalesce(first_deliveries.reason_codes, '') || '|'
                like '%|RECEIVED_AT_OUT_OF_RANGE|%'
                then cast(first_deliveries.received_at as date)
            else cast(first_deliveries.occurred_at as date)
        end as activity_date,
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
        coalesce(property_fill.declared_property_count, 0) as declared_property_count,
        coalesce(property_fill.present_property_count, 0) as present_property_count
    from first_deliveries
    left join property_fill
        on first_deliveries.raw_event_key = property_fill.raw_event_key

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

),

observed_versions as (

    select
        'version' as rollup_level,
        activity_date,
        event_name,
        source,
        platform,
        schema_version,
        max(case when is_unknown_event then 1 else 0 end) as unknown_flag,
        {{ volume_measures }}
    from timed
    group by activity_date, event_name, source, platform, schema_version

),

observed_platforms as (

    select
        'platform' as rollup_level,
        activity_date,
        event_name,
        source,
        platform,
        '(all)' as schema_version,
        max(case when is_unknown_event then 1 else 0 end) as unknown_flag,
        {{ volume_measures }}
    from timed
    group by activity_date, event_name, source, platform

),

observed_days as (

    select
        'day' as rollup_level,
        activity_date,
        '(all)' as event_name,
        '(all)' as source,
        '(all)' as platform,
        '(all)' as schema_version,
        0 as unknown_flag,
        {{ volume_measures }}
    from timed
    group by activity_date

),

observed as (

    select * from observed_versions
    union all
    select * from observed_platforms
    union all
    select * from observed_days

),

series as (

    select
        rollup_level,
        event_name,
        source,
        platform,
        schema_version,
        max(unknown_flag) = 1 as is_unknown_event,
        min(activity_date) as first_seen_date
    from observed
    group by rollup_level, event_name, source, platform, schema_version

),

data_window as (

    select max(activity_date) as last_date from observed

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

filled as (

    select
        grid.*,
        coalesce(observed.event_count, 0) as event_count,
        coalesce(observed.sender_count, 0) as sender_count,
        coalesce(observed.valid_count, 0) as valid_count,
        coalesce(observed.quarantined_count, 0) as quarantined_count,
        coalesce(observed.on_time_count, 0) as on_time_count,
        coalesce(observed.within_48h_count, 0) as within_48h_count,
        coalesce(observed.declared_property_count, 0) as declared_property_count,
        coalesce(observed.present_property_count, 0) as present_property_count
    from grid
    left join observed
        on
            grid.rollup_level = observed.rollup_level
            and grid.activity_date = observed.activity_date
            and grid.event_name = observed.event_name
            and grid.source = observed.source
            and grid.platform = observed.platform
            and grid.schema_version = observed.schema_version

)

select * from filled
