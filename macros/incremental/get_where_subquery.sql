{% macro get_where_subquery(relation) -%}
    {#- dbt's get_where_subquery (the `where` test config) with one addition: each
        `lawn_test_window(column[, key=...][, model=...][, before=...][, rows=...])` in the where text is replaced, at
        run time, by lawn_test_window's predicate (YAML configs cannot call project macros). -#}
    {%- set state = {'where': config.get('where') or ''} -%}
    {%- for call in modules.re.findall('lawn_test_window\\(([^)]*)\\)', state['where']) -%}
        {%- set arguments = call.split(',') | map('trim') | list -%}
        {%- set named = {} -%}
        {%- for argument in arguments[1:] -%}
            {%- set parts = argument.split('=') | map('trim') | list -%}
            {%- if parts | length != 2 or parts[0] not in ('key', 'model', 'before', 'rows') -%}
                {{ exceptions.raise_compiler_error(
                    'lawn_test_window(' ~ call ~ '): arguments are a column, then key=, model='
                    ~ ', before= or rows= a name'
                ) }}
            {%- endif -%}
            {%- do named.update({parts[0]: parts[1]}) -%}
        {%- endfor -%}
        {%- set predicate = lawn_test_window(
            arguments[0], relation, key=named.get('key'), model=named.get('model'),
            before=named.get('before'), rows=named.get('rows')
        ) -%}
        {%- do state.update({
            'where': state['where'].replace('lawn_test_window(' ~ call ~ ')', predicate)
        }) -%}
    {%- endfor -%}
    {%- set where = state['where'] -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
