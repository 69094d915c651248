{% macro volume_rebuild_from() -%}
    {#- The first activity day an incremental run of int_event_volumes_filled rebuilds, as
        'YYYY-MM-DD' text: the earliest receive day or activity day (volume_activity_date)
        of any delivery int_events_validated may have rewritten since the table's last run:
        received at or after the table's watermark (the newest plausible last_received_at,
        never newer than what int_events_validated held then) minus
        `event_lookback_hours`, the window int_events_validated rebuilds. That includes
        receive times beyond the latest allowed one (later than any watermark); receive
        times before received_at_earliest_date stay out of range for good, so their
        verdict and day never change. A delivery counts on its activity day, its occurred
        day or its receive day; the receive day also covers the day a rewritten delivery
        counted on before (a receive time that was out of range and no longer is). '9999-12-31' when no such
        delivery exists (nothing to rebuild); none outside an incremental run's execution.
        Read when the model compiles, before its pre-hook deletes from that day on
        (docs/incremental_increment_models.md). -#}
    {%- if not execute or not is_incremental() or model.resource_type != 'model' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if 'last_received_at' not in columns -%}
        {#- a table built before the model was incremental: rebuild every day once (the
            model's on_schema_change adds the column) -#}
        {%- do return('1900-01-01') -%}
    {%- endif -%}
    {%- set plausible = 'case when not ' ~ is_received_at_out_of_range('last_received_at')
        ~ ' then last_received_at end' -%}
    {%- set query -%}
        select cast(coalesce(
            min(case
                when cast(deliveries.received_at as date) < {{ volume_activity_date('deliveries') }}
                    then cast(deliveries.received_at as date)
                else {{ volume_activity_date('deliveries') }}
            end),
            cast('9999-12-31' as date)
        ) as {{ dbt.type_string() }}) as rebuild_from
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
    {%- endset -%}
    {%- do return(run_query(query).columns[0].values()[0]) -%}
{%- endmacro %}
