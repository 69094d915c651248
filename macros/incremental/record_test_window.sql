{% macro record_test_window(column) -%}
    {{ return(adapter.dispatch('record_test_window', 'lawn')(column)) }}
{%- endmacro %}

{% macro default__record_test_window(column) -%}
    {#- Pre-hook of the incremental event models, after delete_lookback_window: on an
        incremental run, remembers for this dbt invocation the newest plausible `column`
        value the table still holds. The run rewrites every row after it (and every row
        with no or an out-of-range value): those are the rows lawn_test_window lets the
        model's tests check. Kept in memory only (the invocation's graph, keyed by
        invocation_id), so it can never outlive the run that wrote the rows; renders no SQL. -#}
    {%- if execute and is_incremental() -%}
        {%- set newest -%}
            select cast(
                max(case when not {{ is_received_at_out_of_range(column) }} then {{ column }} end)
                as {{ dbt.type_string() }}
            ) as newest_kept
            from {{ this }}
        {%- endset -%}
        {%- set kept = run_query(newest).columns[0].values()[0] -%}
        {%- do graph.setdefault('lawn_test_windows', {}).update({
            invocation_id ~ ':' ~ this.identifier: {'column': column, 'newest_kept': kept}
        }) -%}
    {%- endif -%}
{%- endmacro %}

{#- Spark: nothing is deleted; the run overwrites the partitions from the window's first day
    on, so the newest kept value is the newest plausible one before that day. -#}
{% macro spark__record_test_window(column) -%}
    {%- if execute and is_incremental() -%}
        {%- set kept = spark_event_newest_kept(this, column, spark_event_window_start(column)) -%}
        {%- do graph.setdefault('lawn_test_windows', {}).update({
            invocation_id ~ ':' ~ this.identifier: {'column': column, 'newest_kept': kept}
        }) -%}
    {%- endif -%}
{%- endmacro %}
