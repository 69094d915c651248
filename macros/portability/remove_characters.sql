{% macro remove_characters(expression, characters) -%}
    {{ return(adapter.dispatch('remove_characters', 'lawn')(expression, characters)) }}
{%- endmacro %}

{#- `expression` with every occurrence of each of `characters` removed (a literal set of
    characters, none of them `]`, `\`, `^`, `-` or a quote), the same on every engine:
    translate() with an empty replacement. -#}
{% macro default__remove_characters(expression, characters) -%}
    translate({{ expression }}, '{{ characters }}', '')
{%- endmacro %}

{#- DuckDB: a global regexp_replace over the set as one character class. The same result as
    translate (docs/performance.md: equal on 5M identifier values, and on every character of
    the set in tests_py/test_portable_macros.py), and 10x faster there: DuckDB's translate
    took 4.1-4.5 s for 5M short identifiers, the class 0.38-0.43 s. -#}
{% macro duckdb__remove_characters(expression, characters) -%}
    regexp_replace({{ expression }}, '[{{ characters }}]', '', 'g')
{%- endmacro %}
