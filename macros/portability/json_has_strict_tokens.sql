{% macro json_has_strict_tokens(expression) -%}
    {#- True when the text, read as JSON tokens, uses only RFC 8259 tokens in allowed
        neighbourhoods. Every string literal (only the escapes \" \\ \/ \b \f \n \r \t
        \uXXXX, no raw control characters; not \u0000 and no surrogate escape outside a
        high-low pair: no engine's text can hold them, PostgreSQL stopped the build on
        them, DuckDB refused the lone surrogate and kept the NUL), number (-?(0|[1-9][0-9]*)(.[0-9]+)?(e[+-]?[0-9]+)?)
        and true / false / null becomes `v`, RFC whitespace is dropped, and what is left
        may only hold v { } [ ] : , with no forbidden neighbours: `{` then v or `}`;
        `[` then a value or `]`; v then : , } ]; `:` or `,` then a value; `}` or `]` then
        , } ]. So `01` (two numbers side by side), `{"a":1,}`, NaN, 'x', /* */, {a:1},
        +1, .5 and 0x1F all fail. Nesting balance is left to the engine's parser. -#}
    {%- set value_token -%}
        "([^"\\\x01-\x1f]|\\(["\\/bfnrt]|u([1-9a-cA-Ce-fE-F][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2}|0([1-9a-fA-F][0-9a-fA-F]{2}|0[1-9a-fA-F][0-9a-fA-F]|00[1-9a-fA-F])|[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})))*"|-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?|true|false|null
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
