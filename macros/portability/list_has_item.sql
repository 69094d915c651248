{% macro list_has_item(list_expression, item_expression, separator='|') -%}
    {#- True when the `separator`-separated list holds the item exactly (null when either is
        null), the same on every engine: the list with separators around it changes when the
        item, with separators around it, is replaced. Not LIKE: `_` and `%` in an item or a
        CRM value are wildcards there (`'|mid-market|' like '%|mid_market|%'` is true, and an
        item `%` matches every list); case and spaces count. -#}
    {%- set wrapped_list = "'" ~ separator ~ "' || " ~ list_expression ~ " || '" ~ separator ~ "'" -%}
    {%- set wrapped_item = "'" ~ separator ~ "' || " ~ item_expression ~ " || '" ~ separator ~ "'" -%}
    (replace({{ wrapped_list }}, {{ wrapped_item }}, '') <> {{ wrapped_list }})
{%- endmacro %}
