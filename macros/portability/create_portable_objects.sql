{% macro create_portable_objects() -%}
    {{ return(adapter.dispatch('create_portable_objects', 'lawn')()) }}
{%- endmacro %}

{#- What PostgreSQL lacks that the project's SQL and YAML use, created by `on-run-start`
    in the public schema (on every session's search path):
    - the type name `double` (seed column_types and contract data_types say `double`, which
      DuckDB and Spark know): a domain over double precision, which clients read as
      float8, with the same values;
    - lawn_json_is_object(text): true when the text parses as a JSON object (the IS JSON
      OBJECT predicate exists from PostgreSQL 16 only); the json type's parser follows
      RFC 8259 (no NaN, trailing commas, single quotes, comments).
    DuckDB and Spark need nothing. -#}
{% macro default__create_portable_objects() -%}
    do $lawn$
    begin
        if to_regtype('public.double') is null then
            create domain public.double as double precision;
        end if;
    end
    $lawn$;
    create or replace function public.lawn_json_is_object(value text)
    returns boolean
    language plpgsql
    immutable
    parallel safe
    as $lawn$
    begin
        return json_typeof(value::json) = 'object';
    exception when others then
        return false;
    end
    $lawn$
{%- endmacro %}

{% macro duckdb__create_portable_objects() -%}
    select 1 as nothing_to_create
{%- endmacro %}

{% macro spark__create_portable_objects() -%}
    select 1 as nothing_to_create
{%- endmacro %}
