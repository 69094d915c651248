{% macro within_edits(left, right, edits) -%}
    {#- True when two texts are at most `edits` Levenshtein edits apart, each at most 255
        characters long; false for a longer text, on every engine. PostgreSQL's levenshtein
        (fuzzystrmatch) refuses arguments over 255 characters and stopped the whole identity
        build on a 266-letter name (a probe, 2026-12-07), where DuckDB and Spark compared
        them: now such a text (a pasted paragraph, not a name or a mailbox) is never a typo
        of another on any engine; equal texts are still equal where callers test that first.
        A CASE, so PostgreSQL never calls levenshtein on the long ones. Null when either is
        null, as levenshtein gives. -#}
    case
        when length({{ left }}) > 255 or length({{ right }}) > 255 then false
        else levenshtein({{ left }}, {{ right }}) <= {{ edits }}
    end
{%- endmacro %}
