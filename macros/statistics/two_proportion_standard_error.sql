{#- Standard error of rate_a - rate_b from counts (rate = successes / units). Pooled (the
    two-proportion z-test under H0: one rate p = (s_a + s_b) / (n_a + n_b)):
    sqrt(p (1 - p) (1/n_a + 1/n_b)); unpooled (Wald): sqrt(p_a (1 - p_a) / n_a
    + p_b (1 - p_b) / n_b). Null when an arm has no units. -#}
{% macro two_proportion_standard_error(successes_a, units_a, successes_b, units_b, pooled) -%}
    {%- set double = type_double() -%}
    {%- if pooled -%}
        {%- set rate = '(cast(' ~ successes_a ~ ' + ' ~ successes_b ~ ' as ' ~ double ~ ') / nullif('
            ~ units_a ~ ' + ' ~ units_b ~ ', 0))' -%}
    sqrt(
        {{ rate }} * (1 - {{ rate }})
        * (1.0 / nullif({{ units_a }}, 0) + 1.0 / nullif({{ units_b }}, 0))
    )
    {%- else -%}
        {%- set rate_a = '(cast(' ~ successes_a ~ ' as ' ~ double ~ ') / nullif(' ~ units_a ~ ', 0))' -%}
        {%- set rate_b = '(cast(' ~ successes_b ~ ' as ' ~ double ~ ') / nullif(' ~ units_b ~ ', 0))' -%}
    sqrt(
        {{ rate_a }} * (1 - {{ rate_a }}) / nullif({{ units_a }}, 0)
        + {{ rate_b }} * (1 - {{ rate_b }}) / nullif({{ units_b }}, 0)
    )
    {%- endif -%}
{%- endmacro %}
