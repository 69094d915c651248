{% macro catalog_class_rank(data_class) -%}
    {%- set ranks = {
        'direct_pii': 5, 'indirect_pii': 4, 'pseudonymous': 3,
        'business': 2, 'operational': 1} -%}
    {{ return(ranks.get(data_class, 0)) }}
{%- endmacro %}
