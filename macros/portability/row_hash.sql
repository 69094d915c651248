{% macro row_hash(columns) -%}
    {#- md5 over the given columns; a null and an empty string hash differently. -#}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append(
            "coalesce('s' || cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), 'n')"
        ) -%}
    {%- endfor -%}
    {{ dbt.hash(parts | join(" || '|' || ")) }}
{%- endmacro %}
