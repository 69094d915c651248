{#- dbt.cast on Spark, which knows no `varchar` without a length: the contracts' and seeds'
    type names (written for DuckDB and PostgreSQL) are read as Spark's (spark_seed_type).
    dbt's contract check casts null to every declared data_type through this macro. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ spark_seed_type(type) }})
{%- endmacro %}
