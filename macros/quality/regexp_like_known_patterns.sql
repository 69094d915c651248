{% macro regexp_like_known_patterns(expression, pattern_column, patterns_relation) -%}
    {#- regexp_like(expression, pattern_column) with the same verdict, faster: an engine
        compiles a pattern given as a column value again on every row (page_path's '^/' on
        every page view was int_event_properties_checked's largest cost), but a literal
        pattern once per query. So each distinct pattern of `patterns_relation` (its
        `pattern` column, read when the model runs) gets a branch with the pattern written
        as a literal; a pattern not there (the relation changed after this compile) falls
        back to the column. On a warehouse not built yet (compile, docs) and in a unit test
        only the fallback. -#}
    {%- set patterns = [] -%}
    {#- a unit test gives the model fixture rows in place of the relation: only the fallback -#}
    {%- if execute and model.resource_type != 'unit_test' and patterns_relation is not string -%}
        {%- set found = adapter.get_relation(
            patterns_relation.database, patterns_relation.schema, patterns_relation.identifier
        ) -%}
        {%- if found is not none -%}
            {%- set rows = run_query(
                'select distinct pattern from ' ~ patterns_relation
                ~ ' where pattern is not null order by pattern') -%}
            {%- for row in rows -%}
                {%- do patterns.append(row[0]) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif -%}
    {%- if not patterns %}
    {{ regexp_like(expression, pattern_column) }}
    {%- else %}
    case
        {%- for pattern in patterns %}
        when {{ pattern_column }} = {{ regex_string(pattern) }}
            then {{ regexp_like(expression, regex_string(pattern)) }}
        {%- endfor %}
        else {{ regexp_like(expression, pattern_column) }}
    end
    {%- endif %}
{%- endmacro %}
