{#- Stop a PostgreSQL build or run before any model when the database does not sort text
    byte by byte. lawn's tie-breaks (`order by event_id`, the greater account id, the
    earlier of two names) and its ordered lists are bytewise on DuckDB and Spark; a database
    created with a language collation (en_US.UTF-8, ICU en-US: many managed servers'
    default) puts 'a' before 'B', and a probe (2026-12-07) found 12 marts deciding
    differently there (another plan change at the same second, another variant, another
    name). The test is the order itself, so libc and ICU collations are judged alike; C,
    POSIX and C.UTF-8 pass. `lawn postgres build|land` make the same check before landing
    (lawn/postgres.py, one line, exit 2). Runs first in `on-run-start`. -#}
{% macro require_bytewise_collation() -%}
    {{ return(adapter.dispatch('require_bytewise_collation', 'lawn')()) }}
{%- endmacro %}

{% macro default__require_bytewise_collation() -%}
    select 1 as bytewise_collation_checked
{%- endmacro %}

{% macro postgres__require_bytewise_collation() -%}
    {%- if execute and flags.WHICH in ['build', 'run'] -%}
        {%- set found = run_query("select ('B' < 'a') and ('f' < 'é') and ('a' < 'b')") -%}
        {%- if not found.columns[0].values()[0] -%}
            {{ exceptions.raise_compiler_error(
                'database ' ~ target.dbname ~ ' does not sort text byte by byte (its collation'
                ~ " puts 'a' before 'B'), so ties would be broken otherwise than on DuckDB:"
                ~ " build in a database created with LOCALE 'C' (CREATE DATABASE ... TEMPLATE"
                ~ " template0 LOCALE 'C'; docs/postgres.md)"
            ) }}
        {%- endif -%}
    {%- endif -%}
    select 1 as bytewise_collation_checked
{%- endmacro %}
