{% macro share_from_text(expression) -%}
    {#- A share from text, the same on every engine: a decimal number as it is (`0.05`), or a
        percent as a spreadsheet's percent cell exports it (`5%`, `5 %`) divided by 100;
        anything else null (try_cast's reading of the number). The raw gate accepts the same
        forms (lawn/validate_raw.py SHARE). -#}
    {%- set text = 'trim(' ~ expression ~ ')' -%}
    case
        when right({{ text }}, 1) = '%'
            then {{ try_cast('substr(' ~ text ~ ', 1, length(' ~ text ~ ') - 1)', type_double()) }} / 100
        else {{ try_cast(text, type_double()) }}
    end
{%- endmacro %}
