{% macro lawn_duplicate_groups(model, columns, row_filter, count_name, select_list=none) -%}
    {#- The rows of a uniqueness test: each combination of `columns` (expressions) found more
        than once among the rows of `model` that pass `row_filter`, with its count as
        `count_name`; `select_list` (default: `columns`) names them in the result.
        Dispatched: on DuckDB, when the test reads a whole stored table, the combinations
        are first grouped by their 64-bit hash (a fixed-width key groups faster than text,
        docs/test_cost.md) and only the rows of a repeated hash are then grouped by value,
        so the result is exact: a hash collision between two different values is one more
        candidate, not a failure. -#}
    {{ return(adapter.dispatch('lawn_duplicate_groups', 'lawn')(
        model, columns, row_filter, count_name, select_list or columns
    )) }}
{%- endmacro %}

{% macro default__lawn_duplicate_groups(model, columns, row_filter, count_name, select_list) -%}
select
    {{ select_list | join(', ') }},
    count(*) as {{ count_name }}
from {{ model }}
where {{ row_filter }}
group by {{ columns | join(', ') }}
having count(*) > 1
{%- endmacro %}

{% macro duckdb__lawn_duplicate_groups(model, columns, row_filter, count_name, select_list) -%}
{%- if not lawn_test_reads_stored_rows(model) -%}
    {#- a view is computed once per read: reading it twice would cost more than it saves -#}
    {{ default__lawn_duplicate_groups(model, columns, row_filter, count_name, select_list) }}
{%- else -%}
with

repeated_hashes as (

    select hash({{ columns | join(', ') }}) as row_hash
    from {{ model }}
    where {{ row_filter }}
    group by hash({{ columns | join(', ') }})
    having count(*) > 1

)

select
    {{ select_list | join(', ') }},
    count(*) as {{ count_name }}
from {{ model }}
where
    ({{ row_filter }})
    and hash({{ columns | join(', ') }}) in (select row_hash from repeated_hashes)
group by {{ columns | join(', ') }}
having count(*) > 1
{%- endif -%}
{%- endmacro %}

{% macro lawn_test_reads_stored_rows(model) -%}
    {#- True when the test reads every row of a stored relation of the project: `model` is a
        table, an incremental model, a seed or a snapshot, or the `where` subquery around one
        with a `where` that keeps every row (`1 = 1`, a full build's test window). False for
        a view, a restricting `where`, an unknown relation, or outside execution. -#}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set rendered = model | string -%}
    {%- if ' where ' in rendered.replace('where 1 = 1)', '') | lower -%}
        {#- a `where` that restricts the rows (a test window): few rows to group, and the
            filter would be evaluated twice -#}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = {'stored': 0, 'other': 0} -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type in ('model', 'seed', 'snapshot') and node.relation_name
            and node.relation_name in rendered -%}
            {%- if node.resource_type != 'model'
                or node.config.materialized in ('table', 'incremental') -%}
                {%- do found.update({'stored': found['stored'] + 1}) -%}
            {%- else -%}
                {%- do found.update({'other': found['other'] + 1}) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found['stored'] > 0 and found['other'] == 0) }}
{%- endmacro %}
