{#- Spark only (`lawn spark land`, lawn/spark.py): copy Parquet files that lawn wrote into
    Spark tables. `tables` is a list of {relation: schema.name, path: a Parquet file,
    columns: [[name, spark type], ...]}. Every table is written under a temporary name
    first; only when all were written are the old tables dropped and the new ones renamed,
    so a failure leaves the previous tables as they were. Logs `lawn-landed <relation>
    <rows>` per table for the caller to check the counts. -#}
{% macro spark_land_tables(tables) -%}
    {%- if target.type != 'spark' -%}
        {{ exceptions.raise_compiler_error('spark_land_tables runs on the spark target only') }}
    {%- endif -%}
    {%- for table in tables -%}
        {%- set schema = table.relation.split('.')[0] -%}
        {%- set columns = [] -%}
        {%- for column in table.columns -%}
            {%- do columns.append('cast(' ~ column[0] ~ ' as ' ~ column[1] ~ ') as ' ~ column[0]) -%}
        {%- endfor -%}
        {%- do run_query('create database if not exists ' ~ schema) -%}
        {%- do run_query('drop table if exists ' ~ table.relation ~ '__landing') -%}
        {%- do run_query(
            'create table ' ~ table.relation ~ '__landing using parquet as select '
            ~ columns | join(', ') ~ ' from parquet.`' ~ table.path ~ '`'
        ) -%}
    {%- endfor -%}
    {%- for table in tables -%}
        {%- do run_query('drop table if exists ' ~ table.relation) -%}
        {%- do run_query('alter table ' ~ table.relation ~ '__landing rename to ' ~ table.relation) -%}
        {%- set found = run_query('select count(*) from ' ~ table.relation) -%}
        {%- do print('lawn-landed ' ~ table.relation ~ ' ' ~ found.columns[0].values()[0]) -%}
    {%- endfor -%}
{%- endmacro %}
