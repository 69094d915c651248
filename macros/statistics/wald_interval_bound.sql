{#- One end of a symmetric interval: estimate -/+ critical_value x standard_error; the
    critical value defaults to the normal 0.975 quantile (a Wald 95% interval). -#}
{% macro wald_interval_bound(estimate, standard_error, side, critical_value=none) -%}
    {%- if side not in ['lower', 'upper'] -%}
        {{ exceptions.raise_compiler_error("wald_interval_bound: side must be 'lower' or 'upper', got " ~ side) }}
    {%- endif -%}
    {%- set critical = critical_value if critical_value is not none else normal_quantile_975() -%}
    ({{ estimate }} {{ '-' if side == 'lower' else '+' }} {{ critical }} * {{ standard_error }})
{%- endmacro %}
