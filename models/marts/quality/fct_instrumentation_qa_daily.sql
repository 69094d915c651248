{#- Instrumentation QA: per activity day and series (int_event_volumes_filled: version,
    platform and day rollups), the expected volume - the median of the same weekday in the
    previous four weeks - and the flags that compare the day with it (qa_* vars in
    dbt_project.yml; docs/instrumentation_qa.md). -#}
with

filled as (

    select * from {{ ref('int_event_volumes_filled') }}

),

plan_events as (

    select * from {{ ref('stg_tracking_plan__events') }}

),

superseded_versions as (

    select distinct
        older.event_name,
        cast(older.schema_version as {{ dbt.type_string() }}) as schema_version
    from plan_events as older
    inner join plan_events as newer
        on
            older.event_name = newer.event_name
            and older.schema_version < newer.schema_version
            and newer.is_live
    where older.is_live

),

lagged as (

    select
        filled.*,
        lag(filled.event_count, 7) over (
            partition by
                filled.rollup_level,
                filled.event_name,
                filled.source,
                filled.platform,
                filled.schema_version
            order by filled.activity_date
        ) as count_1w,
        lag(filled.event_count, 14) over (
            partition by
                filled.rollup_level,
                filled.event_name,
                filled.source,
                filled.platform,
                filled.schema_version
            order by filled.activity_date
        ) as count_2w,
        lag(filled.event_count, 21) over (
            partition by
                filled.rollup_level,
                filled.event_name,
                filled.source,
                filled.platform,
                filled.schema_version
            order by filled.activity_date
        ) as count_3w,
        lag(filled.event_count, 28) over (
            partition by
                filled.rollup_level,
                filled.event_name,
                filled.source,
                filled.platform,
                filled.schema_version
            order by filled.activity_date
        ) as count_4w,
        sum(filled.declared_property_count) over (
            partition by
                filled.rollup_level,
                filled.event_name,
                filled.source,
                filled.platform,
                filled.schema_version
            order by filled.activity_date
            rows between 28 preceding and 1 preceding
        ) as baseline_declared_property_count,
        sum(filled.present_property_count) over (
            partition by
                filled.rollup_level,
                filled.event_name,
                filled.source,
                filled.platform,
                filled.schema_version
            order by filled.activity_date
            rows between 28 preceding and 1 preceding
        ) as baseline_present_property_count,
        sum(filled.event_count) over (
            partition by
                filled.rollup_level,
                filled.event_name,
                filled.source,
                filled.platform,
                filled.schema_version
            order by filled.activity_date
            rows between 28 preceding and 1 preceding
        ) as baseline_event_count,
        sum(filled.sender_count) over (
            partition by
                filled.rollup_level,
                filled.event_name,
                filled.source,
                filled.platform,
                filled.schema_version
            order by filled.activity_date
            rows between 28 preceding and 1 preceding
        ) as baseline_sender_count,
        sum(filled.event_count) over (
            partition by
                filled.rollup_level,
                filled.event_name,
                filled.source,
                filled.platform,
                filled.schema_version
            order by filled.activity_date
            rows between 27 preceding and current row
        ) as trailing_28d_count
    from filled

),

baselined as (

    select
        lagged.*,
        case
            when lagged.count_4w is not null
                then cast(
                        lagged.count_1w + lagged.count_2w + lagged.count_3w + lagged.count_4w
                        - greatest(
                            lagged.count_1w, lagged.count_2w, lagged.count_3w, lagged.count_4w
                        )
                        - least(
                            lagged.count_1w, lagged.count_2w, lagged.count_3w, lagged.count_4w
                        )
                        as {{ type_double() }}
                    ) / 2
        end as expected_count,
        cast(lagged.event_count as {{ type_double() }})
        / nullif(lagged.sender_count, 0) as events_per_sender,
        cast(lagged.baseline_event_count as {{ type_double() }})
        / nullif(lagged.baseline_sender_count, 0) as baseline_events_per_sender,
        cast(lagged.present_property_count as {{ type_double() }})
        / nullif(lagged.declared_property_count, 0) as property_fill_rate,
        cast(lagged.baseline_present_property_count as {{ type_double() }})
        / nullif(lagged.baseline_declared_property_count, 0)
            as baseline_property_fill_rate,
        platform_rows.trailing_28d_count as platform_trailing_28d_count,
        superseded_versions.event_name is not null as is_superseded_version
    from lagged
    left join lagged as platform_rows
        on
            lagged.rollup_level = 'version'
            and platform_rows.rollup_level = 'platform'
            and lagged.activity_date = platform_rows.activity_date
            and lagged.event_name = platform_rows.event_name
            and lagged.source = platform_rows.source
            and lagged.platform = platform_rows.platform
    left join superseded_versions
        on
            lagged.rollup_level = 'version'
            and lagged.event_name = superseded_versions.event_name
            and lagged.schema_version = superseded_versions.schema_version

),

guarded as (

    select
        baselined.*,
        baselined.rollup_level != 'version'
        and coalesce(baselined.expected_count >= {{ var('qa_min_expected_events') }}, false)
            as is_volume_monitored,
        {#- events come in clusters (a session sends several): the sd of a day's count is
            about sqrt(expected x events per sender), not sqrt(expected) -#}
        
        sqrt(
            baselined.expected_count
            * greatest(coalesce(baselined.baseline_events_per_sender, 1), 1)
        ) as expected_count_sd
    from baselined

),

flagged as (

    select
        guarded.*,
        guarded.is_volume_monitored
        and guarded.event_count = 0
        and guarded.expected_count
        >= {{ var('qa_min_z') }} * sqrt(guarded.expected_count) as is_stopped,
        guarded.is_volume_monitored
        and guarded.event_count > 0
        and guarded.event_count < guarded.expected_count * {{ var('qa_drop_ratio') }}
        and guarded.expected_count - guarded.event_count
        >= {{ var('qa_min_z') }} * guarded.expected_count_sd as is_volume_drop,
        guarded.is_volume_monitored
        and guarded.event_count > guarded.expected_count * {{ var('qa_spike_ratio') }}
        and guarded.event_count - guarded.expected_count
        >= {{ var('qa_min_z') }} * guarded.expected_count_sd
        and coalesce(
            guarded.events_per_sender
            > guarded.baseline_events_per_sender * {{ var('qa_spike_rate_ratio') }},
            false
        ) as is_volume_spike,
        guarded.is_volume_monitored
        and guarded.on_time_count < guarded.expected_count * {{ var('qa_drop_ratio') }}
        and guarded.expected_count - guarded.on_time_count
        >= {{ var('qa_min_z') }} * guarded.expected_count_sd
        and guarded.event_count >= guarded.expected_count * {{ var('qa_drop_ratio') }}
            as is_late_gap,
        guarded.rollup_level = 'platform'
        and guarded.is_unknown_event
        and guarded.event_count >= {{ var('qa_unknown_event_min_events') }}
        and sum(
            case
                when guarded.event_count >= {{ var('qa_unknown_event_min_events') }}
                    then 1
                else 0
            end
        ) over (
            partition by
                guarded.rollup_level,
                guarded.event_name,
                guarded.source,
                guarded.platform,
                guarded.schema_version
            order by guarded.activity_date
            rows between unbounded preceding and current row
        ) = 1 as is_new_unknown_event,
        coalesce(
            guarded.rollup_level = 'version'
            and guarded.expected_count is not null
            and guarded.declared_property_count >= {{ var('qa_min_expected_events') }}
            and guarded.baseline_property_fill_rate - guarded.property_fill_rate
            > {{ var('qa_fill_rate_drop') }},
            false
        ) as is_fill_rate_drop,
        coalesce(
            guarded.is_superseded_version
            and guarded.expected_count is not null
            and guarded.platform_trailing_28d_count
            >= 7 * {{ var('qa_min_expected_events') }}
            and guarded.trailing_28d_count
            < guarded.platform_trailing_28d_count * {{ var('qa_retire_share') }},
            false
        ) as is_retirement_due
    from guarded

),

reasoned as (

    select
        cast(activity_date as {{ dbt.type_string() }})
        || '|' || event_name || '|' || source || '|' || platform || '|' || schema_version
            as instrumentation_qa_key,
        activity_date,
        rollup_level,
        event_name,
        source,
        platform,
        schema_version,
        first_seen_date,
        is_unknown_event,
        cast(event_count as {{ dbt.type_bigint() }}) as event_count,
        cast(sender_count as {{ dbt.type_bigint() }}) as sender_count,
        events_per_sender,
        baseline_events_per_sender,
        cast(valid_count as {{ dbt.type_bigint() }}) as valid_count,
        cast(quarantined_count as {{ dbt.type_bigint() }}) as quarantined_count,
        expected_count,
        cast(on_time_count as {{ dbt.type_bigint() }}) as on_time_count,
        cast(event_count - on_time_count as {{ dbt.type_bigint() }}) as late_count,
        cast(within_48h_count as {{ dbt.type_bigint() }}) as within_48h_count,
        property_fill_rate,
        baseline_property_fill_rate,
        cast(trailing_28d_count as {{ dbt.type_bigint() }}) as trailing_28d_count,
        is_stopped,
        is_volume_drop,
        is_volume_spike,
        is_new_unknown_event,
        is_fill_rate_drop,
        is_retirement_due,
        is_late_gap,
        is_late_gap
        and within_48h_count >= expected_count * {{ var('qa_drop_ratio') }}
            as is_backfilled_within_48h,
        is_stopped
        or is_volume_drop
        or is_volume_spike
        or is_new_unknown_event
        or is_fill_rate_drop
        or is_retirement_due
        or is_late_gap as is_flagged,
        {{ dbt.concat([
            "case when is_stopped then 'stopped|' else '' end",
            "case when is_volume_drop then 'volume_drop|' else '' end",
            "case when is_volume_spike then 'volume_spike|' else '' end",
            "case when is_new_unknown_event then 'new_unknown_event|' else '' end",
            "case when is_fill_rate_drop then 'fill_rate_drop|' else '' end",
            "case when is_retirement_due then 'retirement_due|' else '' end",
            "case when is_late_gap and within_48h_count >= expected_count * "
            ~ var('qa_drop_ratio') ~ " then 'late_backfilled_48h|' "
            ~ "when is_late_gap then 'late_backfilled_after_48h|' else '' end",
        ]) }} as flag_reasons_piped
    from flagged

),

final as (

    select
        reasoned.instrumentation_qa_key,
        reasoned.activity_date,
        reasoned.rollup_level,
        reasoned.event_name,
        reasoned.source,
        reasoned.platform,
        reasoned.schema_version,
        reasoned.first_seen_date,
        reasoned.is_unknown_event,
        reasoned.event_count,
        reasoned.sender_count,
        reasoned.events_per_sender,
        reasoned.baseline_events_per_sender,
        reasoned.valid_count,
        reasoned.quarantined_count,
        reasoned.expected_count,
        reasoned.on_time_count,
        reasoned.late_count,
        reasoned.within_48h_count,
        reasoned.property_fill_rate,
        reasoned.baseline_property_fill_rate,
        reasoned.trailing_28d_count,
        reasoned.is_stopped,
        reasoned.is_volume_drop,
        reasoned.is_volume_spike,
        reasoned.is_new_unknown_event,
        reasoned.is_fill_rate_drop,
        reasoned.is_retirement_due,
        reasoned.is_late_gap,
        reasoned.is_backfilled_within_48h,
        reasoned.is_flagged,
        case
            when reasoned.flag_reasons_piped != ''
                then substring(
                        reasoned.flag_reasons_piped,
                        1,
                        {{ dbt.length('reasoned.flag_reasons_piped') }} - 1
                    )
        end as flag_reason
    from reasoned

)

select * from final
