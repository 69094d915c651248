{% macro lower_unicode(expression) -%}
    {{ return(adapter.dispatch('lower_unicode', 'lawn')(expression)) }}
{%- endmacro %}

{#- Unicode lower case, the same on every engine and as lawn.contract.fold_case (Python):
    every capital to its lower-case letter (`Ä` -> `ä`, `É` -> `é`, `П` -> `п`), with two
    foldings where the engines' lower() disagree: the dotted capital `İ` (U+0130) becomes a
    plain `i` (DuckDB gives `i`, the others `i` + a combining dot), and the Greek final
    sigma `ς` becomes `σ` (DuckDB never writes `ς`, the others do at a word's end).
    Measured on every letter, mark, number and symbol below U+30000 against Python's
    str.lower (tests_py/test_lower_engines.py). DuckDB's and Spark's lower() are Unicode
    lower case whatever the settings. -#}
{% macro default__lower_unicode(expression) -%}
    replace(lower(replace({{ expression }}, 'İ', 'i')), 'ς', 'σ')
{%- endmacro %}

{#- PostgreSQL's lower() follows the database's LC_CTYPE: in the C locale (scripts/postgres_ci.sh,
    and a common server default) it lowers ASCII letters only, so `ÄNN@x.com` and `änn@x.com`
    would be two people there and one on DuckDB. ICU's root collation lowers every letter
    whatever the database's locale; it exists on every PostgreSQL built with ICU (Debian's and
    the official packages, RDS, Cloud SQL, Azure). On a server built without ICU the build
    fails with `collation "und-x-icu" ... does not exist`: set the var
    `lawn_postgres_icu_lower: false` there, and use a database whose LC_CTYPE is a UTF-8
    locale (docs/postgres.md). -#}
{% macro postgres__lower_unicode(expression) -%}
    {%- set collation = ' collate "und-x-icu"' if var('lawn_postgres_icu_lower') else '' -%}
    replace(lower(replace({{ expression }}, 'İ', 'i'){{ collation }}), 'ς', 'σ')
{%- endmacro %}
