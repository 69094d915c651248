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
    - lawn_try_numeric(text) and lawn_try_float8(text): the number, or null where the cast
      would fail (the try_cast macro checks the text's form first; these catch what the
      form cannot: a double beyond 1.8e308 is null, one too small to represent is 0, as
      DuckDB and Spark read them).
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
    $lawn$;
    create or replace function public.lawn_try_numeric(value text)
    returns numeric
    language plpgsql
    immutable
    parallel safe
    as $lawn$
    begin
        return value::numeric;
    exception when others then
        return null;
    end
    $lawn$;
    create or replace function public.lawn_try_float8(value text)
    returns double precision
    language plpgsql
    immutable
    parallel safe
    as $lawn$
    begin
        return value::double precision;
    exception when others then
        -- out of range: too small to represent (a negative exponent) is 0, too large null
        return case when value ~ '[eE]-' then 0 end;
    end
    $lawn$
{%- endmacro %}

{% macro duckdb__create_portable_objects() -%}
    select 1 as nothing_to_create
{%- endmacro %}

{% macro spark__create_portable_objects() -%}
    select 1 as nothing_to_create
{%- endmacro %}
