{% macro delete_lookback_window(column) -%}
    {{ return(adapter.dispatch('delete_lookback_window', 'lawn')(column)) }}
{%- endmacro %}

{% macro default__delete_lookback_window(column) -%}
    {#- Pre-hook of the event models: on an incremental run, drop the rows received in the
        last `event_lookback_hours` of what the table holds, and rows with no parseable or
        an out-of-range time (is_received_at_out_of_range), so the run rebuilds them from
        the source with late loads included. Out-of-range times never set the watermark:
        one row stamped 9999 would otherwise stop every later run from reading anything.
        A replay (var as_of_date) must not run incrementally: the table may hold later rows. -#}
    {%- if is_incremental() and as_of_date() is not none -%}
        {{ exceptions.raise_compiler_error(
            this ~ ": a replay (var as_of_date) rebuilds from scratch: add --full-refresh"
        ) }}
    {%- endif -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            {{ column }} is null
            or {{ is_received_at_out_of_range(column) }}
            or {{ column }} >= (
                select
                    {{ dbt.dateadd(
                        'hour',
                        -1 * var('event_lookback_hours') | int,
                        'max(case when not ' ~ is_received_at_out_of_range(column)
                        ~ ' then ' ~ column ~ ' end)'
                    ) }}
                from {{ this }}
            )
    {%- endif -%}
{%- endmacro %}

{#- Spark: Parquet tables cannot `delete`; the run overwrites the window's partitions instead
    (spark_event_partitions.sql). Only the replay guard is left. -#}
{% macro spark__delete_lookback_window(column) -%}
    {%- if is_incremental() and as_of_date() is not none -%}
        {{ exceptions.raise_compiler_error(
            this ~ ": a replay (var as_of_date) rebuilds from scratch: add --full-refresh"
        ) }}
    {%- endif -%}
{%- endmacro %}

{% macro incremental_window_predicate(column) -%}
    {{ return(adapter.dispatch('incremental_window_predicate', 'lawn')(column)) }}
{%- endmacro %}

{% macro default__incremental_window_predicate(column) -%}
    {#- Rows newer than what the table still holds after the pre-hook's delete, plus the rows
        the pre-hook always rebuilds (no parseable time, or out of range). -#}
    (
        {{ column }} is null
        or {{ is_received_at_out_of_range(column) }}
        or {{ column }} > (
            select coalesce(
                max(case when not {{ is_received_at_out_of_range(column) }} then {{ column }} end),
                cast('1900-01-01' as {{ dbt.type_timestamp() }})
            )
            from {{ this }}
        )
    )
{%- endmacro %}

{#- Spark: the source rows of the partitions the run overwrites (from the window's first day
    on, spark_event_window_start), plus the rows always rebuilt. -#}
{% macro spark__incremental_window_predicate(column) -%}
    {%- set start = spark_event_window_start(column) -%}
    {%- if start is none -%}
        1 = 1
    {%- else -%}
        (
            {{ column }} is null
            or {{ is_received_at_out_of_range(column) }}
            or {{ column }} >= cast('{{ start }}' as {{ dbt.type_timestamp() }})
        )
    {%- endif -%}
{%- endmacro %}
