{% macro raw_source(source_name, table_name) -%}
    {{ return(adapter.dispatch('raw_source', 'lawn')(source_name, table_name)) }}
{%- endmacro %}

{% macro default__raw_source(source_name, table_name) -%}
    {#- The seed that fills this source by default: a DAG edge so seeds load first. -#}
    {%- do ref(table_name) -%}
    {{ return(source(source_name, table_name)) }}
{%- endmacro %}

{% macro duckdb__raw_source(source_name, table_name) -%}
    {%- do ref(table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set parquet_dir = env_var('LAWN_RAW_PARQUET_DIR', '') -%}
    {#- unit tests always read their fixtures, whatever the environment says -#}
    {%- if parquet_dir | length > 0 and model.resource_type != 'unit_test' -%}
        {{ return("read_parquet('" ~ parquet_dir ~ "/" ~ table_name ~ ".parquet')") }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
