{% macro row_hash(columns) -%}
    {#- md5 over the given columns; a null and an empty string hash differently. The text is
        built by one concat() call: a chain of `||` copies the growing text once per column,
        and with two JSON payloads in the row that copying cost more than the md5 itself
        (docs/full_build_cost.md). Every part is non-null (coalesce), so concat()'s
        null handling, which differs between engines, never applies: the text, and the hash,
        are those of the `||` chain. -#}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append(
            "coalesce('s' || cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), 'n')"
        ) -%}
    {%- endfor -%}
    {{ dbt.hash("concat(" ~ (parts | join(", '|', ")) ~ ")") }}
{%- endmacro %}
