{% macro catalog_gate_columns(results) -%}
    {#- The catalog gate's second half (on-run-end): every column a model, seed or snapshot
        built in this run actually has in the warehouse must be declared in its YAML (so the
        on-run-start gate saw its meta). Raises one compiler error naming node.column. -#}
    {%- set problems = [] -%}
    {%- if execute -%}
        {%- for result in results -%}
            {%- set node = result.node -%}
            {%- if node.resource_type in ['model', 'seed', 'snapshot']
                and result.status in ['success', 'pass']
                and node.config.materialized != 'ephemeral' -%}
                {%- set relation = adapter.get_relation(
                    database=node.database, schema=node.schema, identifier=node.alias) -%}
                {%- if relation is not none -%}
                    {%- for column in adapter.get_columns_in_relation(relation) -%}
                        {%- if column.name not in node.columns
                            and column.name | lower not in node.columns -%}
                            {%- do problems.append(node.unique_id ~ '.' ~ column.name
                                ~ ': in the warehouse but not declared in YAML (no meta)') -%}
                        {%- endif -%}
                    {%- endfor -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if problems | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            'catalog gate: ' ~ problems | length ~ ' undeclared column(s) (docs/governance.md):\n  '
            ~ problems | join('\n  ')) }}
    {%- endif -%}
    select 1 as catalog_gate_columns_passed
{%- endmacro %}
