{% macro catalog_meta_json() -%}
    {#- `dbt --quiet run-operation catalog_meta_json` prints the resolved governance meta of
        every column (catalog_column_meta) and the gate's problems as one JSON object on
        stdout; `lawn catalog` reads it. -#}
    {%- if execute -%}
        {%- set resolved = catalog_column_meta() -%}
        {{ print(tojson({
            'columns': resolved,
            'problems': catalog_gate_problems(resolved),
            'retention_classes': var('governance_retention_classes'),
            'direct_pii_schemas': var('governance_direct_pii_schemas'),
        })) }}
    {%- endif -%}
{%- endmacro %}
