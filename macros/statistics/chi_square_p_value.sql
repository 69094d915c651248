{#- Upper tail P(X > chi_square) of the chi-square distribution with 1 or 2 degrees of
    freedom, exactly: df 1 = 2 (1 - Phi(sqrt x)), df 2 = exp(-x / 2); null for other df
    (a sample-ratio check has one df per arm beyond the first). `degrees_of_freedom` is a
    column or an integer literal. -#}
{% macro chi_square_p_value(chi_square, degrees_of_freedom) -%}
    {%- if degrees_of_freedom is number -%}
        {%- if degrees_of_freedom == 1 -%}
            {{ two_sided_normal_p_value('sqrt(' ~ chi_square ~ ')') }}
        {%- elif degrees_of_freedom == 2 -%}
            exp(-{{ chi_square }} / 2)
        {%- else -%}
            {{ exceptions.raise_compiler_error("chi_square_p_value: only 1 or 2 degrees of freedom") }}
        {%- endif -%}
    {%- else -%}
    case
        when {{ degrees_of_freedom }} = 2 then exp(-{{ chi_square }} / 2)
        when {{ degrees_of_freedom }} = 1 then {{ two_sided_normal_p_value('sqrt(' ~ chi_square ~ ')') }}
    end
    {%- endif -%}
{%- endmacro %}
