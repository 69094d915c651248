{% macro json_may_be_lenient(expression) -%}
    {{ return(adapter.dispatch('json_may_be_lenient', 'lawn')(expression)) }}
{%- endmacro %}

{#- False only when text the engine's parser read as an object cannot have used one of that
    parser's extensions to RFC 8259, so the token check (json_has_strict_tokens) would pass
    and is_valid_json may skip it. True means "run the token check", never "invalid". -#}
{% macro default__json_may_be_lenient(expression) -%}
    {#- PostgreSQL and Spark: always run the token check. -#}
    true
{%- endmacro %}

{% macro duckdb__json_may_be_lenient(expression) -%}
    {#- DuckDB's parser (yyjson, as DuckDB configures it) extends RFC 8259 with NaN / Inf /
        Infinity in any letter case and with trailing commas, nothing else (fuzzed in
        tests_py/test_strict_json.py). Text without those letters and without a comma
        before a closing bracket cannot have used either; anything else (also "banana" or a
        ", ]" inside a string) goes to the full check. So does text with a \u0000 or a
        surrogate escape, which yyjson reads and the token check refuses (unless paired). -#}
    regexp_matches({{ expression }}, '(?i)nan|inf|,[ \t\n\r]*[\]}]|\\u0000|\\ud[89a-f]')
{%- endmacro %}
