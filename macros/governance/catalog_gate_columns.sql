{% macro catalog_gate_columns(results) -%}
    {#- The catalog gate's second half (on-run-end): every column a model, seed or snapshot
        built in this run actually has in the warehouse must be declared in its YAML (so the
        on-run-start gate saw its meta). Raises one compiler error naming node.column. The
        columns come from one catalog query for the whole run (catalog_built_columns), not
        one per relation: on-run-end runs alone, after every node. -#}
    {%- set problems = [] -%}
    {%- if execute -%}
        {%- set built = [] -%}
        {%- for result in results -%}
            {%- set node = result.node -%}
            {%- if node.resource_type in ['model', 'seed', 'snapshot']
                and result.status in ['success', 'pass']
                and node.config.materialized != 'ephemeral' -%}
                {%- set relation = adapter.get_relation(
                    database=node.database, schema=node.schema, identifier=node.alias) -%}
                {%- if relation is not none -%}
                    {%- do built.append({'node': node, 'relation': relation}) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set columns = catalog_built_columns(built | map(attribute='relation') | list) -%}
        {%- for entry in built -%}
            {%- set node = entry['node'] -%}
            {%- for column in columns.get(catalog_relation_key(entry['relation']), []) -%}
                {%- if column not in node.columns
                    and column | lower not in node.columns -%}
                    {%- do problems.append(node.unique_id ~ '.' ~ column
                        ~ ': in the warehouse but not declared in YAML (no meta)') -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if problems | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            'catalog gate: ' ~ problems | length ~ ' undeclared column(s) (docs/governance.md):\n  '
            ~ problems | join('\n  ')) }}
    {%- endif -%}
    select 1 as catalog_gate_columns_passed
{%- endmacro %}

{% macro catalog_relation_key(relation) -%}
    {#- The key of catalog_built_columns' answer: database.schema.identifier, lower case. -#}
    {{- return((relation.database ~ '.' ~ relation.schema ~ '.' ~ relation.identifier) | lower) -}}
{%- endmacro %}

{% macro catalog_built_columns(relations) -%}
    {{ return(adapter.dispatch('catalog_built_columns', 'lawn')(relations)) }}
{%- endmacro %}

{#- The warehouse columns of `relations` (existing relations of this run's database), in
    their order: {catalog_relation_key: [column name]}. One information_schema query (DuckDB,
    PostgreSQL) for all of them, names as the catalog stores them (what
    get_columns_in_relation gives). -#}
{% macro default__catalog_built_columns(relations) -%}
    {%- set columns = {} -%}
    {%- if not relations -%}
        {{ return(columns) }}
    {%- endif -%}
    {%- set wanted = [] -%}
    {%- for relation in relations -%}
        {%- do wanted.append(catalog_relation_key(relation)) -%}
    {%- endfor -%}
    {%- set databases = relations | map(attribute='database') | map('lower') | unique | sort -%}
    {%- set schemas = relations | map(attribute='schema') | map('lower') | unique | sort -%}
    {%- set query -%}
        select
            lower(table_catalog) as table_catalog,
            lower(table_schema) as table_schema,
            lower(table_name) as table_name,
            column_name
        from information_schema.columns
        where lower(table_catalog) in ('{{ databases | join("', '") }}')
            and lower(table_schema) in ('{{ schemas | join("', '") }}')
        order by table_catalog, table_schema, table_name, ordinal_position
    {%- endset -%}
    {%- for row in run_query(query).rows -%}
        {%- set key = row[0] ~ '.' ~ row[1] ~ '.' ~ row[2] -%}
        {%- if key in wanted -%}
            {%- do columns.setdefault(key, []).append(row[3]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{#- Spark has no information_schema: one lookup per relation. -#}
{% macro spark__catalog_built_columns(relations) -%}
    {%- set columns = {} -%}
    {%- for relation in relations -%}
        {%- do columns.update({
            catalog_relation_key(relation): adapter.get_columns_in_relation(relation)
                | map(attribute='name') | list
        }) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}
