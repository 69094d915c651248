{#- 2 * (1 - Phi(|z|)). `z` should be a column (normal_cdf repeats it); null gives null. -#}
{% macro two_sided_normal_p_value(z) -%}
    (2 * (1 - {{ normal_cdf('abs(' ~ z ~ ')') }}))
{%- endmacro %}
