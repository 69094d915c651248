{#- Spark only (`lawn spark export`, lawn/spark.py): write every table and view of the
    given schemas as Parquet into `folder`/<schema>.<name>/ (Spark's INSERT OVERWRITE
    DIRECTORY), so that Python (DuckDB) can read what the Spark build made without a
    metastore of its own. Logs `lawn-exported <schema>.<name>` per relation. -#}
{% macro spark_export_relations(folder, schemas) -%}
    {%- if target.type != 'spark' -%}
        {{ exceptions.raise_compiler_error('spark_export_relations runs on the spark target only') }}
    {%- endif -%}
    {%- for schema in schemas -%}
        {%- set found = run_query('show tables in ' ~ schema) -%}
        {%- for row in found.rows if not row['isTemporary'] -%}
            {%- set relation = schema ~ '.' ~ row['tableName'] -%}
            {%- do run_query(
                "insert overwrite directory '" ~ folder ~ '/' ~ relation
                ~ "' using parquet select * from " ~ relation
            ) -%}
            {%- do print('lawn-exported ' ~ relation) -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endmacro %}
