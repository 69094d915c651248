{% macro catalog_class_ranks() -%}
    {#- Restrictiveness of each data class (higher is more restrictive; unknown is 0). The
        catalog walk reads this mapping once and looks classes up in it, instead of a macro
        call per column (a dbt macro call costs tens of microseconds). -#}
    {{ return({
        'direct_pii': 5, 'indirect_pii': 4, 'pseudonymous': 3,
        'business': 2, 'operational': 1}) }}
{%- endmacro %}
