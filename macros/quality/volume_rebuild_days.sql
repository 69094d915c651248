{% macro volume_rebuild_days() -%}
    {#- The activity days an incremental run of int_event_volumes_filled rebuilds, as a
        dict: `days`, the sorted 'YYYY-MM-DD' texts of every receive day and activity day
        (volume_activity_date) of the deliveries int_events_validated may have rewritten
        since the table's last run, and `after`, the last day with events among the other
        days the table holds ('YYYY-MM-DD'): every day after it is rebuilt too (new days,
        the zero-filled tail, and the days after a last day of data that moved back).
        The rewritten deliveries are those received at or after the table's watermark (the
        newest plausible last_received_at, never newer than what int_events_validated held
        then) minus `event_lookback_hours`, the window int_events_validated rebuilds; that
        includes receive times beyond the latest allowed one (later than any watermark);
        receive times before received_at_earliest_date stay out of range for good, so their
        verdict and day never change. A delivery counts on its occurred day or its receive
        day; the receive day also covers the day a rewritten delivery counted on before (a
        receive time that was out of range and no longer is). Every other day keeps its
        rows: no delivery counting on it changed. None outside an incremental run's
        execution. Read when the model compiles and when its pre-hook renders, both before
        the pre-hook deletes the rebuilt days (docs/incremental_increment_models.md). -#}
    {%- if not execute or not is_incremental() or model.resource_type != 'model' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if 'last_received_at' not in columns -%}
        {#- a table built before the model was incremental: rebuild every day once (the
            model's on_schema_change adds the column) -#}
        {%- do return({'days': [], 'after': '1899-12-31'}) -%}
    {%- endif -%}
    {%- set plausible = 'case when not ' ~ is_received_at_out_of_range('last_received_at')
        ~ ' then last_received_at end' -%}
    {%- set days_query -%}
        with rewritten as (
            select
                deliveries.received_at,
                {{ volume_activity_date('deliveries') }} as activity_date
            from {{ ref('int_events_validated') }} as deliveries
            where
                deliveries.received_at >= coalesce(
                    (
                        select {{ dbt.dateadd(
                            'hour', -1 * var('event_lookback_hours') | int, 'max(' ~ plausible ~ ')'
                        ) }}
                        from {{ this }}
                    ),
                    cast('1900-01-01' as {{ dbt.type_timestamp() }})
                )
        ),

        touched as (
            select cast(received_at as date) as activity_date from rewritten
            union
            select activity_date from rewritten
        )

        select cast(activity_date as {{ dbt.type_string() }}) as activity_date
        from touched
        order by activity_date
    {%- endset -%}
    {%- set days = run_query(days_query).columns[0].values() | list -%}
    {%- set floor = none -%}
    {%- if days | length > 400 -%}
        {#- too many days to list (a first run, a long outage): every day from the first
            of them on instead, a superset -#}
        {%- set floor = (modules.datetime.date.fromisoformat(days[0])
            - modules.datetime.timedelta(days=1)).isoformat() -%}
        {%- set days = [] -%}
    {%- endif -%}
    {%- set after_query -%}
        select cast(coalesce(
            max(activity_date), cast('1899-12-31' as date)
        ) as {{ dbt.type_string() }}) as after_day
        from {{ this }}
        where
            rollup_level = 'day'
            and event_count > 0
            {% if days | length > 0 %}
                and activity_date not in ({{ volume_day_list(days) }})
            {% endif %}
    {%- endset -%}
    {%- set after = run_query(after_query).columns[0].values()[0] -%}
    {%- if floor is not none and floor < after -%}
        {%- set after = floor -%}
    {%- endif -%}
    {%- do return({'days': days, 'after': after}) -%}
{%- endmacro %}


{% macro volume_day_list(days) -%}
    {#- 'YYYY-MM-DD' texts as a list of date literals for `in (...)` -#}
    {%- for day in days -%}
        cast('{{ day }}' as date){{ ", " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}


{% macro volume_is_rebuilt_day(column, rebuild) -%}
    {#- Whether the date `column` is one of the days `rebuild` (volume_rebuild_days) rebuilds -#}
    {%- if rebuild['days'] | length > 0 -%}
        ({{ column }} in ({{ volume_day_list(rebuild['days']) }})
        or {{ column }} > cast('{{ rebuild["after"] }}' as date))
    {%- else -%}
        {{ column }} > cast('{{ rebuild["after"] }}' as date)
    {%- endif -%}
{%- endmacro %}


{% macro volume_received_since(rebuild) -%}
    {#- The earliest receive time of a first delivery counting on a day `rebuild`
        (volume_rebuild_days) rebuilds, as text ('9999-12-31' when there is none): the
        model reads deliveries and property checks from it on, a literal the scans can
        prune on. A delivery that counts on its occurred day was received at most
        clock_skew_tolerance_minutes before it (else OCCURRED_IN_FUTURE puts it on its
        receive day), so the query itself reads from the first rebuilt day minus that
        tolerance on; one delivery of years ago then costs one scan of three columns here
        instead of the property checks of every delivery since. -#}
    {%- if not execute or rebuild is none -%}
        {%- do return('9999-12-31') -%}
    {%- endif -%}
    {%- set first_day = rebuild['days'][0] if rebuild['days'] | length > 0 else rebuild['after'] -%}
    {%- set query -%}
        select cast(coalesce(
            min(deliveries.received_at), cast('9999-12-31' as {{ dbt.type_timestamp() }})
        ) as {{ dbt.type_string() }}) as received_since
        from {{ ref('int_events_validated') }} as deliveries
        where
            deliveries.delivery_number = 1
            and deliveries.received_at >= {{ dbt.dateadd(
                'minute',
                -1 * var('clock_skew_tolerance_minutes') | int,
                "cast('" ~ first_day ~ "' as " ~ dbt.type_timestamp() ~ ")"
            ) }}
            and {{ volume_is_rebuilt_day(volume_activity_date('deliveries'), rebuild) }}
    {%- endset -%}
    {%- do return(run_query(query).columns[0].values()[0]) -%}
{%- endmacro %}
