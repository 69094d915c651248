{% macro lawn_test_window(column, relation, key=none, model=none, before=none, rows=none) -%}
    {#- The `where` of a data test on an incremental event model (docs/incremental_tests.md),
        written `where: "lawn_test_window(received_at)"` in YAML and expanded at run time by
        get_where_subquery: `1 = 1` on a full refresh, in an invocation that did not run the
        model incrementally (e.g. `dbt test` alone) or when the run rewrote the whole table;
        otherwise the rows this run wrote: `column` after the newest value the table kept
        (record_test_window), null, or out of range. With `key`, also every older row whose
        key one of those rows has, so a uniqueness test still sees a new row colliding with an
        old one. `model` names the incremental model whose window applies (for a view over it);
        default: the tested relation. `before` names the incremental model a parent's rows
        feed (stg_tracking__events -> int_events_deduplicated): the rows that model's run in
        this invocation is about to read, computed from what it holds now as its pre-hooks
        will (`1 = 1` when it is not selected, does not exist yet or is empty). `rows` (with
        `key`) names the incremental model a view projects row for row, without `column`
        (pii_event_personal_data over int_events_attributed): the view's rows whose key one of
        that model's rows written by this run has, and every row with a null key. -#}
    {%- if rows is not none and not key -%}
        {{ exceptions.raise_compiler_error(
            'lawn_test_window(' ~ column ~ ', rows=' ~ rows ~ '): rows= needs key='
        ) }}
    {%- endif -%}
    {%- if model is not none and execute -%}
        {#- a misspelt model (or a quoted name: the where text passes it verbatim) would
            find no window and silently test every row -#}
        {%- do lawn_model_relation(model) -%}
    {%- endif -%}
    {%- if before is not none -%}
        {%- set newest_kept = lawn_test_window_ahead(column, before) -%}
    {%- else -%}
        {%- set windows = graph.get('lawn_test_windows', {}) -%}
        {%- set recorded = windows.get(invocation_id ~ ':' ~ (rows or model or relation.identifier)) -%}
        {%- set newest_kept = recorded['newest_kept'] if recorded is not none else none -%}
    {%- endif -%}
    {%- if flags.FULL_REFRESH or newest_kept is none -%}
        1 = 1
    {%- else -%}
        {%- set in_window -%}
            ({{ column }} is null
            or {{ is_received_at_out_of_range(column) }}
            or {{ column }} > cast('{{ newest_kept }}' as {{ dbt.type_timestamp() }}))
        {%- endset -%}
        {%- if rows is not none -%}
            ({{ key }} is null or {{ key }} in (select {{ key }} from {{ lawn_model_relation(rows) }} where {{ in_window }}))
        {%- elif key -%}
            {#- the rows in the window and every row sharing a key with one of them, written
                as the keys' semi-join plus the window's null keys: the same rows as
                `in_window or key in (...)` (a row in the window with a key has its key in the
                list), without an OR over a subquery that every row of the table evaluated
                (0.65 against 0.48 s on the 21.6M identity observations, warm; 2.06 against
                0.46 s cold; docs/performance.md) -#}
            ({{ key }} in (select {{ key }} from {{ relation }} where {{ in_window }})
            or ({{ key }} is null and {{ in_window }}))
        {%- else -%}
            {{ in_window }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{% macro lawn_model_relation(name) -%}
    {#- The relation of the model called `name` (from the graph: a test's where may read a
        model it does not ref). -#}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name -%}
        {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error('lawn_test_window: no model named ' ~ name) }}
{%- endmacro %}
