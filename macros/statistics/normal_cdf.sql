{% macro normal_cdf(x) -%}
    {{ return(adapter.dispatch('normal_cdf', 'lawn')(x)) }}
{%- endmacro %}

{#- Hart (1968) as given by West (2005), "Better approximations to cumulative normal
    functions": double precision everywhere, only exp, abs and arithmetic, so it is the same
    on every engine. `x` should be a column or a simple expression (it is repeated). -#}
{% macro default__normal_cdf(x) -%}
    (case
        when abs({{ x }}) > 37 then case when {{ x }} > 0 then 1.0 else 0.0 end
        else (case when {{ x }} > 0 then 1.0 else 0.0 end) + (case when {{ x }} > 0 then -1.0 else 1.0 end)
            * exp(-abs({{ x }}) * abs({{ x }}) / 2)
            * case
                when abs({{ x }}) < 7.07106781186547
                    then
                    ((((((3.52624965998911e-02 * abs({{ x }}) + 0.700383064443688) * abs({{ x }})
                    + 6.37396220353165) * abs({{ x }}) + 33.912866078383) * abs({{ x }})
                    + 112.079291497871) * abs({{ x }}) + 221.213596169931) * abs({{ x }})
                    + 220.206867912376)
                    / (((((((8.83883476483184e-02 * abs({{ x }}) + 1.75566716318264) * abs({{ x }})
                    + 16.064177579207) * abs({{ x }}) + 86.7807322029461) * abs({{ x }})
                    + 296.564248779674) * abs({{ x }}) + 637.333633378831) * abs({{ x }})
                    + 793.826512519948) * abs({{ x }}) + 440.413735824752)
                else 1.0 / (abs({{ x }}) + 1.0 / (abs({{ x }}) + 2.0 / (abs({{ x }}) + 3.0
                    / (abs({{ x }}) + 4.0 / (abs({{ x }}) + 0.65))))) / 2.506628274631
            end
    end)
{%- endmacro %}
