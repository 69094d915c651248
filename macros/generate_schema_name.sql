{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- Custom schemas are used as given (raw, registry, staging, intermediate, marts),
        so analysts query `marts.fct_events` on every target. -#}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
