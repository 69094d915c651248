{#- The standard normal 0.975 quantile (two-sided 95%), as a double on every engine. -#}
{% macro normal_quantile_975() -%}
    cast(1.959963984540054 as {{ type_double() }})
{%- endmacro %}
