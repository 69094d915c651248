{#- Student's t distribution from arithmetic, ln, exp and sqrt only (no engine has it built in).

    t_normal_deviate(t, df): Hill (1970), ACM Algorithm 395, asymptotic branch: the normal
    deviate y with P(|T| > |t|) = 2 * (1 - Phi(y)). Against scipy it is within 1e-9 for
    df >= 10 and 4e-7 at df = 5.

    t_quantile_cornish_fisher(z, df): the Cornish-Fisher expansion of the t quantile at the
    normal quantile z (four terms); the readout refines it with one Newton step using
    t_density, which makes it exact to double precision for the df of real experiments.

    t_density(t, df): the t density; the ratio Gamma((df+1)/2) / Gamma(df/2) comes from its
    asymptotic series in x = df/2 (relative error below 1e-10 for df >= 10). -#}

{% macro t_normal_deviate(t, df) -%}
    (
        (
            (
                (
                    (-0.4 * (({{ df }} - 0.5) * ln(1 + {{ t }} * {{ t }} / {{ df }})) - 3.3)
                    * (({{ df }} - 0.5) * ln(1 + {{ t }} * {{ t }} / {{ df }})) - 24
                ) * (({{ df }} - 0.5) * ln(1 + {{ t }} * {{ t }} / {{ df }})) - 85.5
            )
            / (
                0.8 * power(({{ df }} - 0.5) * ln(1 + {{ t }} * {{ t }} / {{ df }}), 2)
                + 100 + 48 * power({{ df }} - 0.5, 2)
            )
            + (({{ df }} - 0.5) * ln(1 + {{ t }} * {{ t }} / {{ df }})) + 3
        ) / (48 * power({{ df }} - 0.5, 2)) + 1
    ) * sqrt(({{ df }} - 0.5) * ln(1 + {{ t }} * {{ t }} / {{ df }}))
{%- endmacro %}

{% macro t_quantile_cornish_fisher(z, df) -%}
    (
        {{ z }}
        + (power({{ z }}, 3) + {{ z }}) / (4 * {{ df }})
        + (5 * power({{ z }}, 5) + 16 * power({{ z }}, 3) + 3 * {{ z }}) / (96 * power({{ df }}, 2))
        + (3 * power({{ z }}, 7) + 19 * power({{ z }}, 5) + 17 * power({{ z }}, 3) - 15 * {{ z }})
        / (384 * power({{ df }}, 3))
        + (
            79 * power({{ z }}, 9) + 776 * power({{ z }}, 7) + 1482 * power({{ z }}, 5)
            - 1920 * power({{ z }}, 3) - 945 * {{ z }}
        ) / (92160 * power({{ df }}, 4))
    )
{%- endmacro %}

{% macro t_density(t, df) -%}
    (
        sqrt({{ df }} / 2.0)
        * (
            1 - 1 / (4 * {{ df }}) + 1 / (32 * power({{ df }}, 2))
            + 5 / (128 * power({{ df }}, 3)) - 21 / (2048 * power({{ df }}, 4))
        )
        / sqrt({{ df }} * pi())
        * power(1 + {{ t }} * {{ t }} / {{ df }}, -({{ df }} + 1) / 2.0)
    )
{%- endmacro %}
