{% macro identity_link_days_window() -%}
    {#- The receive days an incremental run of int_identity_link_days rebuilds
        (docs/incremental_identity_links.md), as a dict of two 'YYYY-MM-DD' texts, or none
        outside an incremental run's execution (and in a unit test):
        - `start`: the day of the table's newest plausible receive time minus
          `event_lookback_hours`; every day from it on is rebuilt. int_identity_observations
          only rewrites rows received in the last `event_lookback_hours` of what it held, and
          it held at least this table's newest receive time, so the days before `start` keep
          the observations they were counted from ('1900-01-01' when the table is empty);
        - `oldest_next`: the day after the oldest receive day of int_identity_observations.
          That oldest day is rebuilt too, and every older day deleted: retention purges the
          observations up to a time inside a day, so that day's partial counts are recomputed
          from what is left and the purged days disappear ('9999-12-31' when there are no
          observations: everything is deleted).
        The same values are read when the model is compiled and by its pre-hook, before the
        delete, so both see the table as the previous run left it.
        int_identity_link_totals reads it on itself (it has `last_received_at` too): its newest
        receive time is the link days' as it last added them up, so the same bounds name the
        days the link days recounted since. -#}
    {%- if not execute or not is_incremental() or model.resource_type != 'model' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set lookback = var('event_lookback_hours') | int -%}
    {%- set plausible = 'case when not ' ~ is_received_at_out_of_range('last_received_at')
        ~ ' then last_received_at end' -%}
    {%- set bounds -%}
        select
            coalesce(
                cast(cast({{ dbt.dateadd('hour', -1 * lookback, 'max(' ~ plausible ~ ')') }} as date)
                    as {{ dbt.type_string() }}),
                '1900-01-01'
            ) as window_start,
            (
                select coalesce(
                    cast(cast({{ dbt.dateadd('day', 1, 'cast(min(received_at) as date)') }} as date)
                        as {{ dbt.type_string() }}),
                    '9999-12-31'
                )
                from {{ ref('int_identity_observations') }}
            ) as oldest_next
        from {{ this }}
    {%- endset -%}
    {%- set row = run_query(bounds).rows[0] -%}
    {%- do return({'start': row[0], 'oldest_next': row[1]}) -%}
{%- endmacro %}

{% macro delete_identity_link_days_window() -%}
    {#- Pre-hook of int_identity_link_days: on an incremental run, drop the days the run
        rebuilds (identity_link_days_window) and the rows with no receive day. Refuses a
        replay (var as_of_date), as the event models do. On Spark the model is a table. -#}
    {{- refuse_incremental_replay() -}}
    {%- set window = identity_link_days_window() -%}
    {%- if window is not none -%}
        delete from {{ this }}
        where
            received_date is null
            or received_date >= cast('{{ window.start }}' as date)
            or received_date < cast('{{ window.oldest_next }}' as date)
    {%- endif -%}
{%- endmacro %}
