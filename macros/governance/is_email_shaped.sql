{% macro is_email_shaped(expression) -%}
    {#- The one rule deciding whether an identifier value (a user_id, anonymous_id or device_id
        as sent: many companies use the email as userId) holds an email address, so marts show
        it as its keyed hash (masked_identifier). Read on the value's normal form
        (normalize_identifier: no whitespace or invisible characters, lower case, no mailto:),
        unanchored: somewhere a run of non-@ characters, an @, a run of non-@ characters, a dot
        and two or more letters (the shape tests_py's email scanners look for). A plain LIKE
        '%@%' first, so a value without an @ never reaches the regex. regexp_like and
        regex_string give the same verdict on DuckDB, PostgreSQL and Spark (unanchored search
        on all three). -#}
    ({{ expression }} like '%@%'
    and {{ regexp_like(normalize_identifier(expression), regex_string(email_shape_pattern())) }})
{%- endmacro %}

{#- The regular expression is_email_shaped looks for in a normal form (no backslashes, so
    regex_string writes it alike for every engine; tests_py/test_portable_macros.py runs it on
    DuckDB, PostgreSQL and Spark against Python's re.search). -#}
{% macro email_shape_pattern() -%}
    {{- return('[^@]+@[^@]+[.][a-z]{2,}') -}}
{%- endmacro %}
