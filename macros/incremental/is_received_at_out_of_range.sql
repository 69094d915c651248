{% macro received_at_latest_allowed() -%}
    {#- The latest plausible receive time: the run's start (or var received_at_reference_time)
        plus received_at_max_future_minutes, as a timestamp literal (UTC). -#}
    {%- set reference = var('received_at_reference_time', '') or run_started_at.strftime('%Y-%m-%d %H:%M:%S') -%}
    {{ dbt.dateadd(
        'minute',
        var('received_at_max_future_minutes') | int,
        "cast('" ~ reference ~ "' as " ~ dbt.type_timestamp() ~ ")"
    ) }}
{%- endmacro %}

{% macro is_received_at_out_of_range(column) -%}
    {#- True when a parsed receive time lies outside [received_at_earliest_date, run start +
        received_at_max_future_minutes]; null when the column is null. Such a row is
        quarantined (RECEIVED_AT_OUT_OF_RANGE), never wins deduplication, and never moves
        the incremental watermark. -#}
    (
        {{ column }} < cast('{{ var("received_at_earliest_date") }}' as {{ dbt.type_timestamp() }})
        or {{ column }} > {{ received_at_latest_allowed() }}
    )
{%- endmacro %}
