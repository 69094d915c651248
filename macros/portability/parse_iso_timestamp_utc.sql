{% macro parse_iso_timestamp_utc(expression) -%}
    {{ return(adapter.dispatch('parse_iso_timestamp_utc', 'lawn')(expression)) }}
{%- endmacro %}

{#- ISO 8601 text with a UTC offset ('Z', '+02:00', '-0500') -> UTC timestamp without time zone.
    Text without an offset is read as UTC. Anything else gives null (never an error). -#}
{% macro default__parse_iso_timestamp_utc(expression) -%}
    case
        when {{ expression }}
            ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$'
            then cast({{ expression }} as timestamp with time zone) at time zone 'UTC'
    end
{%- endmacro %}

{% macro duckdb__parse_iso_timestamp_utc(expression) -%}
    case
        when regexp_matches(
            {{ expression }},
            '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$'
        )
            then timezone('UTC', try_cast({{ expression }} as timestamptz))
    end
{%- endmacro %}

{% macro spark__parse_iso_timestamp_utc(expression) -%}
    to_utc_timestamp(try_cast({{ expression }} as timestamp), 'UTC')
{%- endmacro %}
