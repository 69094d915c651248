{#- dbt-spark's seed table, with the seed YAML's column_types read as Spark types
    (spark_seed_type: `varchar` without a length is no Spark type). Parquet, like every
    table lawn writes on Spark. -#}
{% macro spark__create_csv_table(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set quote_seed_column = model['config'].get('quote_columns', None) -%}
    {%- set sql -%}
        create table {{ this.render() }} (
        {%- for col_name in agate_table.column_names -%}
            {%- set type = spark_seed_type(
                column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))
            ) %}
            {{ adapter.quote_seed_column(col_name | string, quote_seed_column) }} {{ type }}
            {{- ',' if not loop.last }}
        {%- endfor %}
        )
        {{ file_format_clause() }}
        {{ location_clause() }}
        {{ comment_clause() }}
    {%- endset -%}
    {%- call statement('_') -%}
        {{ sql }}
    {%- endcall -%}
    {{ return(sql) }}
{% endmacro %}

{#- A seed column type from the seed YAML (written for DuckDB and PostgreSQL) as Spark's:
    varchar (no length) is string; other names are the same on Spark. -#}
{% macro spark_seed_type(data_type) -%}
    {%- set lowered = (data_type | string | lower | trim) -%}
    {{- return('string' if lowered in ('varchar', 'text', 'character varying') else data_type) -}}
{%- endmacro %}
