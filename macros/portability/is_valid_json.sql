{% macro is_valid_json(expression) -%}
    {#- True when the text is a JSON object by RFC 8259; false for null, malformed text,
        other JSON, or the extensions lenient parsers accept (trailing commas, NaN and
        Infinity, single quotes, comments, unquoted keys, leading zeros, +1, .5, hex).
        The engine's parser checks the structure (nesting, a top-level object); a check of
        the text's tokens, the same regular expressions on every engine, removes the
        leniency. The token check is the costly part (two regular-expression rewrites of
        the text); json_may_be_lenient lets an engine skip it for text its parser cannot
        have read leniently (a CASE evaluates each branch only on the rows that reach it). -#}
    case
        when not ({{ json_parses_as_object(expression) }}) then false
        when not ({{ json_may_be_lenient(expression) }}) then true
        else coalesce({{ json_has_strict_tokens(expression) }}, false)
    end
{%- endmacro %}
