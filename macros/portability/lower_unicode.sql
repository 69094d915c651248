{% macro lower_unicode(expression) -%}
    {{ return(adapter.dispatch('lower_unicode', 'lawn')(expression)) }}
{%- endmacro %}

{#- Unicode lower case (`Ä` -> `ä`, `É` -> `é`), the same on every engine. DuckDB's and
    Spark's lower() are Unicode-aware whatever the settings. -#}
{% macro default__lower_unicode(expression) -%}
    lower({{ expression }})
{%- endmacro %}

{#- PostgreSQL's lower() follows the database's LC_CTYPE: in the C locale (scripts/postgres_ci.sh,
    and many managed servers' default) it lowers ASCII letters only, so `ÄNN@x.com` and
    `änn@x.com` were two people there and one on DuckDB. ICU's root collation lowers every
    letter, whatever the database locale; it ships with every PostgreSQL built with ICU
    (Debian, RDS, Cloud SQL, Azure). -#}
{% macro postgres__lower_unicode(expression) -%}
    lower(({{ expression }}) collate "und-x-icu")
{%- endmacro %}
