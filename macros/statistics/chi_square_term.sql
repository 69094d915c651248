{#- One cell of Pearson's chi-square: (observed - expected)^2 / expected (null when the
    expected count is 0). Sum the terms over the cells. -#}
{% macro chi_square_term(observed, expected) -%}
    (power({{ observed }} - {{ expected }}, 2) / nullif({{ expected }}, 0))
{%- endmacro %}
