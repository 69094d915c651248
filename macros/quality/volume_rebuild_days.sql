{% macro volume_rebuild_days() -%}
    {#- What an incremental run of int_event_volumes_filled rebuilds, as a dict:
        - `days`: the sorted 'YYYY-MM-DD' texts of every receive day and activity day
          (volume_activity_date) of the deliveries int_events_validated may have rewritten
          since the table's last run: those received at or after the table's watermark (the
          newest plausible last_received_at, never newer than what int_events_validated held
          then) minus `event_lookback_hours`, the window int_events_validated rebuilds. That
          includes receive times beyond the latest allowed one (later than any watermark);
          receive times before received_at_earliest_date stay out of range for good, so
          their verdict and day never change. A delivery counts on its occurred day or its
          receive day; the receive day also covers the day a rewritten delivery counted on
          before (a receive time that was out of range and no longer is). Redeliveries are
          in too (a delivery renumbered in the window may have counted before).
        - `after`: the last day with events among the other days the table holds; every
          later day is rebuilt too (new days, the zero-filled tail, and the days after a
          last day of data that moved back).
        - `received_since`: a receive time no first delivery counting on a rebuilt day is
          older than, the literal the model reads deliveries and property checks from: the
          window's start for the days without events in the table (only deliveries of the
          window can count on them now), and for a day with events the day minus
          clock_skew_tolerance_minutes (a delivery counting on its occurred day was received
          at most that long before it, else OCCURRED_IN_FUTURE puts it on its receive day).
          A redelivery of an event years old (no reason code of its own, so it names its
          occurred day) thus adds a day to `days` but no scan of years of deliveries.
        Every other day keeps its rows: no delivery counting on it changed. None outside an
        incremental run's execution. Read when the model compiles and when its pre-hook
        renders, both before the pre-hook deletes the rebuilt days
        (docs/incremental_increment_models.md). -#}
    {%- if not execute or not is_incremental() or model.resource_type != 'model' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if 'last_received_at' not in columns -%}
        {#- a table built before the model was incremental: rebuild every day once (the
            model's on_schema_change adds the column) -#}
        {%- do return({'days': [], 'after': '1899-12-31', 'received_since': '1900-01-01'}) -%}
    {%- endif -%}
    {%- set plausible = 'case when not ' ~ is_received_at_out_of_range('last_received_at')
        ~ ' then last_received_at end' -%}
    {%- set window_query -%}
        select cast(coalesce(
            {{ dbt.dateadd('hour', -1 * var('event_lookback_hours') | int, 'max(' ~ plausible ~ ')') }},
            cast('1900-01-01' as {{ dbt.type_timestamp() }})
        ) as {{ dbt.type_string() }}) as window_start
        from {{ this }}
    {%- endset -%}
    {%- set window_start = run_query(window_query).columns[0].values()[0] -%}
    {%- set days_query -%}
        with rewritten as (
            select
                deliveries.received_at,
                {{ volume_activity_date('deliveries') }} as activity_date
            from {{ ref('int_events_validated') }} as deliveries
            where deliveries.received_at >= cast('{{ window_start }}' as {{ dbt.type_timestamp() }})
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
    {%- set day_rows -%}
        from {{ this }}
        where rollup_level = 'day' and event_count > 0
    {%- endset -%}
    {%- set bounds_query -%}
        select
            (
                select cast(coalesce(max(activity_date), cast('1899-12-31' as date)) as {{ dbt.type_string() }})
                {{ day_rows }}
                {% if days | length > 0 %}
                    and activity_date not in ({{ volume_day_list(days) }})
                {% endif %}
            ) as after_day,
            (
                select cast(min(activity_date) as {{ dbt.type_string() }})
                {{ day_rows }}
                {% if days | length > 0 %}
                    and activity_date in ({{ volume_day_list(days) }})
                {% else %}
                    and 1 = 0
                {% endif %}
            ) as first_listed_day_with_events
    {%- endset -%}
    {%- set bounds = run_query(bounds_query).rows[0] -%}
    {%- set after = bounds[0] -%}
    {%- if floor is not none and floor < after -%}
        {%- set after = floor -%}
    {%- endif -%}
    {#- the earliest day whose deliveries may include some from before the window: the
        first listed day with events, or with the superset, every day after `after` -#}
    {%- set first_day_with_events = bounds[1] if floor is none else after -%}
    {%- set since = window_start -%}
    {%- if first_day_with_events is not none -%}
        {%- set day_start = modules.datetime.datetime.fromisoformat(first_day_with_events)
            - modules.datetime.timedelta(minutes=var('clock_skew_tolerance_minutes') | int) -%}
        {%- if day_start.isoformat(' ') < since -%}
            {%- set since = day_start.isoformat(' ') -%}
        {%- endif -%}
    {%- endif -%}
    {%- do return({'days': days, 'after': after, 'received_since': since}) -%}
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
