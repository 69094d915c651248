{#- An aggregate: the group's non-null texts joined by a delimiter, in ascending order of the
    text itself or of `order_by` (a list of SQL expressions, compared in turn; a null key
    last); null when the group has no text. Texts compare bytewise (UTF-8 code point order)
    on every engine. tests_py/test_ordered_text_list.py checks each engine's form against
    Python's sort. -#}
{% macro ordered_text_list(expression, delimiter, order_by=none) -%}
    {%- if order_by is not none and (order_by is string or order_by | length == 0) -%}
        {{ exceptions.raise_compiler_error(
            "ordered_text_list: order_by must be a non-empty list of SQL expressions, got "
            ~ order_by
        ) }}
    {%- endif -%}
    {{ return(adapter.dispatch('ordered_text_list', 'lawn')(expression, delimiter, order_by)) }}
{%- endmacro %}

{% macro default__ordered_text_list(expression, delimiter, order_by) -%}
    {%- set ordering = [] -%}
    {%- for key in (order_by if order_by is not none else [expression]) -%}
        {%- do ordering.append(key ~ ' nulls last') -%}
    {%- endfor -%}
    {{ dbt.listagg(expression, delimiter, 'order by ' ~ ordering | join(', ')) }}
{%- endmacro %}

{#- PostgreSQL: the text itself sorts under the C collation (bytewise), not the database's
    locale, where en_US would put 'B' after 'a' and skip '_'. Keys given in `order_by` sort
    under the database's collation (lawn's are numbers, or ASCII codes and names that sort
    alike in every locale CI tests: its database is C). -#}
{% macro postgres__ordered_text_list(expression, delimiter, order_by) -%}
    {%- if order_by is none -%}
        {{ dbt.listagg(expression, delimiter, 'order by (' ~ expression ~ ') collate "C"') }}
    {%- else -%}
        {{ default__ordered_text_list(expression, delimiter, order_by) }}
    {%- endif -%}
{%- endmacro %}

{#- DuckDB: ordered by the text itself, a list sorted once per group costs less than an
    ordered string_agg (docs/performance.md, "Ordered lists"); array_to_string skips the
    list's nulls, and a group of nulls gives null. With keys, the ordered string_agg. -#}
{% macro duckdb__ordered_text_list(expression, delimiter, order_by) -%}
    {%- if order_by is none -%}
        array_to_string(list_sort(list({{ expression }})), {{ delimiter }})
    {%- else -%}
        {{ default__ordered_text_list(expression, delimiter, order_by) }}
    {%- endif -%}
{%- endmacro %}

{#- Spark: dbt.listagg drops its ORDER BY there (collect_list keeps arrival order, which a
    shuffle changes). Each text travels in a struct behind its keys (`key is null` before
    each key, so a null key sorts last), the array is sorted field by field, and the texts
    are read back out. collect_list skips the null structs of null texts; a group without
    texts gives null, not ''. -#}
{% macro spark__ordered_text_list(expression, delimiter, order_by) -%}
    {%- set fields = [] -%}
    {%- for key in (order_by if order_by is not none else [expression]) -%}
        {%- do fields.append("'n" ~ loop.index ~ "', (" ~ key ~ ") is null") -%}
        {%- do fields.append("'k" ~ loop.index ~ "', " ~ key) -%}
    {%- endfor -%}
    case
        when count({{ expression }}) > 0 then array_join(
            transform(
                array_sort(collect_list(
                    case
                        when ({{ expression }}) is not null
                            then named_struct({{ fields | join(', ') }}, 'v', {{ expression }})
                    end
                )),
                item -> item.v
            ),
            {{ delimiter }}
        )
    end
{%- endmacro %}
