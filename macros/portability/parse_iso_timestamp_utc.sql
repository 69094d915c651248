{% macro parse_iso_timestamp_utc(expression, require_offset=false, untrimmed=none) -%}
    {#- untrimmed: the text before the caller's trim(), when expression is trim(untrimmed); only
        DuckDB's fast path reads it (the same result, without trimming every row first) -#}
    {{ return(adapter.dispatch('parse_iso_timestamp_utc', 'lawn')(expression, require_offset, untrimmed)) }}
{%- endmacro %}

{% macro iso_timestamp_pattern(with_offset) -%}
    {#- An ISO 8601 date-time. Seconds are optional, with an offset ('Z', '+02:00', '-0500',
        or hours only: '+00', PostgreSQL's text output) or without one ('2026-03-01T10:00Z',
        '2026-03-01 10:00': ISO 8601's reduced precision; Spark's cast refuses hh:mm before a
        zone, so its parse adds ':00' first). Without an offset a date alone is midnight: what
        a CRM or a spreadsheet exports ('2026-03-01'). Month, day, hour, minute and
        second are range-checked here, so that every engine refuses the same values (DuckDB
        reads hour 24 as the next day, Spark gives null); a day the month lacks (11-31)
        passes the pattern and each engine's cast gives null. An offset is at most 14:59 either
        way (the world's span is -12:00..+14:00): DuckDB read +99:99 as a shift of four days
        and PostgreSQL's cast fails past 15:59, so a wider one is refused alike. -#}
    {%- set day = '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])' -%}
    {%- set hours_minutes = '([01][0-9]|2[0-3]):[0-5][0-9]' -%}
    {%- set seconds = ':[0-5][0-9]([.][0-9]{1,9})?' -%}
    {%- if with_offset -%}
        ^{{ day }}[T ]{{ hours_minutes }}({{ seconds }})?(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)$
    {%- else -%}
        ^{{ day }}([T ]{{ hours_minutes }}({{ seconds }})?)?$
    {%- endif -%}
{%- endmacro %}

{#- ISO 8601 text with a UTC offset ('Z', '+02:00', '-0500') -> UTC timestamp without time zone.
    Text without an offset is read as UTC (whatever the session's time zone), or gives null
    with require_offset (a client clock's local time without an offset could be anywhere).
    Anything else gives null (never an error). -#}
{% macro default__parse_iso_timestamp_utc(expression, require_offset=false, untrimmed=none) -%}
    {#- PostgreSQL has no try_cast and its cast fails on a day the month lacks: the day is
        compared with the month's length first (a nested case: evaluated in order) -#}
    {#- PostgreSQL rounds a fraction finer than a microsecond ('...59.9999999' is the next
        second); DuckDB and Spark truncate it, so it is cut to six digits first -#}
    {%- set micros -%}
        regexp_replace({{ expression }}, '([.][0-9]{6})[0-9]+', '\1')
    {%- endset %}
    {%- set day_exists -%}
        cast(substr({{ expression }}, 9, 2) as integer) <= extract(day from
            cast(substr({{ expression }}, 1, 7) || '-01' as date)
            + interval '1 month' - interval '1 day')
    {%- endset %}
    case
        when {{ expression }} ~ '{{ iso_timestamp_pattern(true) }}'
            then case when {{ day_exists }}
                then cast({{ micros }} as timestamp with time zone) at time zone 'UTC' end
        {%- if not require_offset %}
        when {{ expression }} ~ '{{ iso_timestamp_pattern(false) }}'
            then case when {{ day_exists }} then cast({{ micros }} as timestamp) end
        {%- endif %}
    end
{%- endmacro %}

{% macro duckdb__parse_iso_timestamp_utc(expression, require_offset=false, untrimmed=none) -%}
    {#- A fast path first, for the one form most event SDKs send (JavaScript's toISOString(),
        Segment, RudderStack: '2026-03-17T08:05:34.412Z'): a fixed-format strptime instead of
        two regular expressions and a cast, about 4x faster on the landing table's 10M receive
        times. Where it gives a value, the value is the full parse's (duckdb_iso_timestamp_full
        below); anything else, or a value it refuses, goes to the full parse. The guard keeps it
        to what the full parse reads the same way: exactly that layout (LIKE), and a digit
        first (strptime's %Y skips leading white space and takes fewer digits: ' 026-...' is
        year 26 to it, no time to the pattern). strptime itself refuses a day the month lacks,
        hour 24, second 60 and a one-digit field. Checked against the full parse on 783K
        mutated texts (docs/performance.md) and on 27K in tests_py/test_portable_macros.py,
        with the guard's negative control. The text read is the caller's
        untrimmed one when given: a text that passes the guard has no white space to trim. -#}
    {%- set text = untrimmed if untrimmed is not none else expression -%}
    coalesce(
        case
            when {{ text }} like '____-__-__T__:__:__.___Z' and {{ text }} >= '0' and {{ text }} < ':'
                then try_strptime({{ text }}, '%Y-%m-%dT%H:%M:%S.%gZ')
        end,
        {{ duckdb_iso_timestamp_full(expression, require_offset) }}
    )
{%- endmacro %}

{% macro duckdb_iso_timestamp_full(expression, require_offset=false) -%}
    {#- DuckDB's full parse: the pattern decides what is a time, the cast reads it -#}
    case
        when regexp_matches({{ expression }}, '{{ iso_timestamp_pattern(true) }}')
            then timezone('UTC', try_cast({{ expression }} as timestamptz))
        {%- if not require_offset %}
        when regexp_matches({{ expression }}, '{{ iso_timestamp_pattern(false) }}')
            then try_cast({{ expression }} as timestamp)
        {%- endif %}
    end
{%- endmacro %}

{% macro spark__parse_iso_timestamp_utc(expression, require_offset=false, untrimmed=none) -%}
    {#- the patterns as on the other engines: Spark's own cast also reads forms they refuse
        ('2026-3-1'); it refuses hh:mm before a zone ('2026-03-01T10:00Z'), which the pattern
        takes: ':00' is added to such a time first -#}
    case
        when {{ expression }} rlike '{{ iso_timestamp_pattern(true) }}'
            then to_utc_timestamp(try_cast(
                regexp_replace({{ expression }}, '^(.{10}[T ][0-9]{2}:[0-9]{2})([Z+-])', '$1:00$2')
                as timestamp), 'UTC')
        {%- if not require_offset %}
        when {{ expression }} rlike '{{ iso_timestamp_pattern(false) }}'
            then to_utc_timestamp(try_cast({{ expression }} as timestamp), 'UTC')
        {%- endif %}
    end
{%- endmacro %}
