{% macro json_has_strict_tokens(expression) -%}
    {#- True when the text, read as JSON tokens, uses only RFC 8259 tokens in allowed
        neighbourhoods. Every string literal (only the escapes \" \\ \/ \b \f \n \r \t
        \uXXXX, no raw control characters), number (-?(0|[1-9][0-9]*)(.[0-9]+)?(e[+-]?[0-9]+)?)
        and true / false / null becomes `v`, RFC whitespace is dropped, and what is left
        may only hold v { } [ ] : , with no forbidden neighbours: `{` then v or `}`;
        `[` then a value or `]`; v then : , } ]; `:` or `,` then a value; `}` or `]` then
        , } ]. So `01` (two numbers side by side), `{"a":1,}`, NaN, 'x', /* */, {a:1},
        +1, .5 and 0x1F all fail. Nesting balance is left to the engine's parser. -#}
    {%- set value_token -%}
        "([^"\\\x01-\x1f]|\\(["\\/bfnrt]|u[0-9a-fA-F]{4}))*"|-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?|true|false|null
    {%- endset -%}
    {%- set tokens = regexp_replace_all(
        regexp_replace_all(expression, regex_string(value_token), "'v'"),
        regex_string('[ \\t\\n\\r]+'),
        "''"
    ) -%}
    not {{ regexp_like(
        tokens,
        regex_string(
            '[^v{}:,\\[\\]]|[{][^v}]|\\[[^\\]v{\\[]|v[^\\]:,}]|[:,][^v{\\[]|[\\]}][^\\]},]'
        )
    ) }}
{%- endmacro %}
