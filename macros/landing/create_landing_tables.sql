{#- The tables the Python side of lawn writes and dbt reads (as sources): every source table
    with `meta.landing` in models/staging/ml/_ml__sources.yml and
    models/staging/ops/_ops__sources.yml (churn scores, their per-feature contributions and
    model monitoring in schema ml; action reversals, action exports, nightly runs and the
    identity hash key's padded forms in schema ops). Their columns (names, order and logical
    `data_type`) are read from the source YAML, the one definition that lawn/landing.py reads
    too, so the DDL, the sources and the Python inserts cannot drift apart. Created empty when
    missing, so the first build (before any model has scored) reads empty sources instead of
    failing; existing rows are never touched. Run on every dbt invocation from `on-run-start`;
    renders nothing at parse time (the graph is complete only at execution). -#}
{% macro create_landing_tables() -%}
    {%- if execute -%}
        {%- set types = {
            'string': dbt.type_string(),
            'date': 'date',
            'timestamp': dbt.type_timestamp(),
            'boolean': dbt.type_boolean(),
            'double': type_double(),
            'bigint': dbt.type_bigint(),
        } -%}
        {%- set landing = [] -%}
        {%- for source in graph.sources.values() | sort(attribute='unique_id') -%}
            {%- if (source.config.meta or {}).get('landing') or (source.meta or {}).get('landing') -%}
                {%- do landing.append(source) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set statements = [] -%}
        {%- for schema in landing | map(attribute='schema') | unique | sort -%}
            {%- do statements.append('create schema if not exists ' ~ schema) -%}
        {%- endfor -%}
        {%- for source in landing -%}
            {%- set ddl -%}
    create table if not exists {{ source.schema }}.{{ source.identifier or source.name }} (
            {%- for column in source.columns.values() %}
                {%- if column.data_type not in types -%}
                    {{ exceptions.raise_compiler_error(
                        'landing table ' ~ source.source_name ~ '.' ~ source.name ~ ', column '
                        ~ column.name ~ ': data_type ' ~ column.data_type
                        ~ ' is not one of ' ~ (types.keys() | sort | join(', '))
                    ) }}
                {%- endif %}
        {{ column.name }} {{ types[column.data_type] }}{{ ',' if not loop.last }}
            {%- endfor %}
    ){{ ' using parquet' if target.type == 'spark' }}
            {%- endset -%}
            {%- do statements.append(ddl) -%}
        {%- endfor -%}
        {%- if target.type == 'spark' -%}
            {#- Spark runs one statement per call: each is run here, the hook itself is a no-op -#}
            {%- for statement in statements -%}
                {%- do run_query(statement) -%}
            {%- endfor %}
    select 1 as landing_tables_created
        {%- else -%}
            {{ statements | join(';\n') }}
        {%- endif -%}
    {%- else -%}
        select 1 as landing_tables_created_at_execution
    {%- endif -%}
{%- endmacro %}
