{% macro is_valid_json(expression) -%}
    {#- True when the text is a JSON object by RFC 8259; false for null, malformed text,
        other JSON, or the extensions lenient parsers accept (trailing commas, NaN and
        Infinity, single quotes, comments, unquoted keys, leading zeros, +1, .5, hex).
        The engine's parser checks the structure (nesting, a top-level object); a check of
        the text's tokens, the same regular expressions on every engine, removes the
        leniency. -#}
    coalesce(
        {{ json_parses_as_object(expression) }}
        and {{ json_has_strict_tokens(expression) }},
        false
    )
{%- endmacro %}
