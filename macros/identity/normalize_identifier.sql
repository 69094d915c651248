{% macro normalize_identifier(expression) -%}
    {#- The one normal form of every identifier and email the identity graph compares
        (user, anonymous and device ids, emails, blocklist values), the same on every
        engine: every Unicode whitespace or invisible character removed wherever it
        stands (space, tab, line breaks, NBSP U+00A0, the U+2000 spaces, zero-width
        space/joiners U+200B-U+200D, word joiner U+2060, BOM U+FEFF, ...), lower-cased,
        then a leading `mailto:`, wrapping angle brackets and quotes, and trailing dots
        removed. Plain character removal (remove_characters) / lower / anchored
        regexp_replace, so DuckDB, Postgres and Spark agree. See docs/identity.md. -#}
    regexp_replace(
        regexp_replace(
            {{ lower_unicode(remove_characters(expression, identifier_invisible_characters())) }},
            '^[<"' || chr(39) || ']*(mailto:)?[<"' || chr(39) || ']*',
            ''
        ),
        '[>"' || chr(39) || '.]*$',
        ''
    )
{%- endmacro %}


{% macro identifier_invisible_characters() -%}
    {#- The characters normalize_identifier removes: every Unicode whitespace and invisible
        character (lawn/privacy_maps.py's INVISIBLE is the Python twin). -#}
    {{ return(
        " \t\n\r\u000b\u000c\u0085\u00a0\u1680\u180e"
        ~ "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
        ~ "\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
    ) }}
{%- endmacro %}
