{% macro string_similarity(left, right) -%}
    {{ return(adapter.dispatch('string_similarity', 'lawn')(left, right)) }}
{%- endmacro %}

{#- Similarity of two strings in [0, 1]: Jaro-Winkler on DuckDB; elsewhere one minus the
    Levenshtein distance over the longer length (Postgres: fuzzystrmatch). -#}
{% macro default__string_similarity(left, right) -%}
    (1.0 - cast(levenshtein({{ left }}, {{ right }}) as {{ type_double() }})
        / nullif(greatest(length({{ left }}), length({{ right }})), 0))
{%- endmacro %}

{% macro duckdb__string_similarity(left, right) -%}
    jaro_winkler_similarity({{ left }}, {{ right }})
{%- endmacro %}
