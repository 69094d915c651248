{#- The two-proportion z statistic (rate_a - rate_b) / standard error, from counts; pooled
    (the classical test) or unpooled (Wald) standard error, see
    two_proportion_standard_error. Null when the standard error is 0 or null. -#}
{% macro two_proportion_z_statistic(successes_a, units_a, successes_b, units_b, pooled) -%}
    {%- set double = type_double() -%}
    (
        (
            cast({{ successes_a }} as {{ double }}) / nullif({{ units_a }}, 0)
            - cast({{ successes_b }} as {{ double }}) / nullif({{ units_b }}, 0)
        )
        / nullif(
            {{ two_proportion_standard_error(successes_a, units_a, successes_b, units_b, pooled) }},
            0
        )
    )
{%- endmacro %}
