{#- The columns of `relation` (as built) that a node's catalog does not mark as direct PII
    (meta pii: personal, or data_class: direct_pii); a column the catalog does not document
    is not open either. Names in the relation's order. -#}
{% macro governed_open_columns(node, relation) -%}
    {%- set closed = [] -%}
    {%- set documented = [] -%}
    {%- for name, column in node.columns.items() -%}
        {%- set meta = column.meta or (column.config or {}).get('meta') or {} -%}
        {%- do documented.append(name | lower) -%}
        {%- if meta.get('pii') == 'personal' or meta.get('data_class') == 'direct_pii' -%}
            {%- do closed.append(name | lower) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set open_columns = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- set name = column.name | lower -%}
        {%- if name in documented and name not in closed -%}
            {%- do open_columns.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(open_columns) }}
{%- endmacro %}
