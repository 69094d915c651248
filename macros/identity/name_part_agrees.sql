{% macro name_part_agrees(left, right) -%}
    {#- True when two normalised name parts (first or last names) are the same or a likely
        typo of each other: equal, or both at least 5 letters and at most 2 edits apart
        (Levenshtein, identical on every engine; never for a part over 255 characters:
        within_edits). Null when either is null. -#}
    (
        {{ left }} = {{ right }}
        or (
            least(length({{ left }}), length({{ right }})) >= 5
            and {{ within_edits(left, right, 2) }}
        )
    )
{%- endmacro %}
