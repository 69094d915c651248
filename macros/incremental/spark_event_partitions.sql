{#- Spark (docs/spark.md, "Incremental event models on Spark"): Parquet tables cannot
    `delete`, so an incremental event model there is `insert_overwrite` on a received-date
    partition column. A run overwrites every partition from the window's first day (the day
    of the newest plausible receive time minus `event_lookback_hours`) on, plus the rows
    with no or an out-of-range receive time (always rebuilt, as on the other engines), and
    counts earlier deliveries from the partitions before that day only (partition-pruned).
    On DuckDB and PostgreSQL these macros render nothing, or the unchanged default. -#}

{% macro event_partition_column(column) -%}
    {{ return(adapter.dispatch('event_partition_column', 'lawn')(column)) }}
{%- endmacro %}

{#- The partition column, appended to the model's last selected column (`, ...`). -#}
{% macro default__event_partition_column(column) -%}
{%- endmacro %}

{% macro spark__event_partition_column(column) -%}
    ,
        cast({{ column }} as date) as received_date
{%- endmacro %}

{% macro event_kept_rows_filter(column) -%}
    {{ return(adapter.dispatch('event_kept_rows_filter', 'lawn')(column)) }}
{%- endmacro %}

{#- A `where` for reads of the model's own table (`from {{ this }}`) on an incremental run:
    the rows the run keeps. Elsewhere the pre-hook already deleted the window: nothing. -#}
{% macro default__event_kept_rows_filter(column) -%}
{%- endmacro %}

{% macro spark__event_kept_rows_filter(column) -%}
    {%- set start = spark_event_window_start(column) -%}
    {%- if start is none %}
        where 1 = 0
    {%- else %}
        where
            received_date < cast('{{ start }}' as date)
            and not {{ is_received_at_out_of_range(column) }}
    {%- endif -%}
{%- endmacro %}

{% macro spark_event_window_start(column) -%}
    {#- The first day the incremental run overwrites ('YYYY-MM-DD'), or none when the table
        holds no plausible receive time (the run then rebuilds everything). Read once per
        invocation and model (kept in the invocation's graph), so the model's SQL, its
        pre-hooks and its test window agree. -#}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set windows = graph.setdefault('lawn_spark_event_windows', {}) -%}
    {%- set key = invocation_id ~ ':' ~ this.identifier -%}
    {%- if key not in windows -%}
        {%- do windows.update({key: spark_event_window_start_of(this, column)}) -%}
    {%- endif -%}
    {{ return(windows[key]) }}
{%- endmacro %}

{% macro spark_event_window_start_of(relation, column) -%}
    {#- The day of the newest plausible `column` value of `relation` minus
        `event_lookback_hours`, as 'YYYY-MM-DD'; none when there is none. -#}
    {%- set query -%}
        select cast(cast(
            {{ dbt.dateadd(
                'hour',
                -1 * var('event_lookback_hours') | int,
                'max(case when not ' ~ is_received_at_out_of_range(column)
                ~ ' then ' ~ column ~ ' end)'
            ) }}
        as date) as {{ dbt.type_string() }}) as window_start
        from {{ relation }}
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{%- endmacro %}

{% macro spark_event_newest_kept(relation, column, start) -%}
    {#- The newest plausible `column` value of `relation` before the day `start`: the rows
        an incremental run starting there keeps; none when it keeps nothing. -#}
    {%- if start is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select cast(max({{ column }}) as {{ dbt.type_string() }}) as newest_kept
        from {{ relation }}
        where
            received_date < cast('{{ start }}' as date)
            and not {{ is_received_at_out_of_range(column) }}
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{%- endmacro %}
