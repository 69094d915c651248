{% macro lawn_test_window_ahead(column, model_name) -%}
    {#- For lawn_test_window(before=...): the newest plausible `column` value the incremental
        model `model_name` will keep after its lookback delete (delete_lookback_window), read
        before it runs (on Spark: before the first day its insert_overwrite rewrites); none
        when it is not selected in this invocation, is not incremental, does not exist or
        keeps nothing (its run will then read everything). -#}
    {%- set nodes = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', model_name) | list -%}
    {%- if nodes | length != 1 or nodes[0].unique_id not in selected_resources
        or nodes[0].config.materialized != 'incremental' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set existing = adapter.get_relation(
        database=nodes[0].database, schema=nodes[0].schema, identifier=nodes[0].alias
    ) -%}
    {%- if existing is none -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- if target.type == 'spark' -%}
        {#- Spark overwrites whole days from the window's first day (spark_event_partitions) -#}
        {%- do return(spark_event_newest_kept(
            existing, column, spark_event_window_start_of(existing, column)
        )) -%}
    {%- endif -%}
    {%- set plausible = 'case when not ' ~ is_received_at_out_of_range(column) ~ ' then '
        ~ column ~ ' end' -%}
    {%- set kept -%}
        select cast(max({{ plausible }}) as {{ dbt.type_string() }}) as newest_kept
        from {{ existing }}
        where {{ column }} < (
            select {{ dbt.dateadd(
                'hour', -1 * var('event_lookback_hours') | int, 'max(' ~ plausible ~ ')'
            ) }}
            from {{ existing }}
        )
    {%- endset -%}
    {%- do return(run_query(kept).columns[0].values()[0]) -%}
{%- endmacro %}
