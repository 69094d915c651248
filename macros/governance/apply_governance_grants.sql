{% macro apply_governance_grants(results) -%}
    {{ return(adapter.dispatch('apply_governance_grants', 'lawn')(results)) }}
{%- endmacro %}

{#- on-run-end hook (PostgreSQL): the schema side of the `grants` config, and the audit.
    1. Schema usage: every reading role (var governance_reader_roles) loses USAGE on every
       schema the project builds into, then gets it back on each schema that holds an
       object whose `grants` config names it (from the whole graph, so a partial run does
       not narrow it). A role granted nothing in a schema cannot even see its names.
    2. Audit: one row in audit.grant_log per grant in force after this run: the schema
       usages of step 1, every privilege x grantee of the `grants` config of each model,
       seed and snapshot this run built (dbt applied those grants while building it), and
       every column privilege its apply_column_grants post-hook gave (meta column_grants),
       and a `built` row per object built (so after a partial run, each object's grants in
       force are those of the latest run that built it, even when it has none). Who:
       the login (session_user) and the role that granted (current_user); when: now().
    tests_py/test_postgres.py compares the latest run's rows with the server's privileges. -#}
{% macro default__apply_governance_grants(results) -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set readers = var('governance_reader_roles') -%}
    {%- set schemas = [] -%}
    {%- set usage = {} -%}
    {%- for node in graph.nodes.values()
        if node.resource_type in ['model', 'seed', 'snapshot']
        and node.config.materialized != 'ephemeral' -%}
        {%- if node.schema not in schemas -%}
            {%- do schemas.append(node.schema) -%}
        {%- endif -%}
        {%- set column_grants = (node.config.meta or {}).get('column_grants') or {} -%}
        {%- for grantees in (node.config.grants or {}).values() | list + column_grants.values() | list -%}
            {%- for grantee in grantees if grantee in readers -%}
                {%- do usage.setdefault(node.schema, []) -%}
                {%- if grantee not in usage[node.schema] -%}
                    {%- do usage[node.schema].append(grantee) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {#- only schemas that exist (a partial run on a new database may not have made all) -#}
    {%- set existing = run_query('select nspname from pg_namespace').columns[0].values() -%}
    {%- set schemas = schemas | select('in', existing) | list -%}
    {%- set rows = [] -%}
    {%- for schema in schemas | sort -%}
        {%- for grantee in usage.get(schema, []) | sort -%}
            {%- do rows.append(['schema', schema, '', '', 'USAGE', grantee]) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for result in results
        if result.node.resource_type in ['model', 'seed', 'snapshot']
        and result.status in ['success', 'pass']
        and result.node.config.materialized != 'ephemeral' -%}
        {#- a `built` row marks the run whose grants are the object's current ones -#}
        {%- do rows.append(['built', result.node.schema, result.node.alias, '', '', '']) -%}
        {%- for privilege, grantees in (result.node.config.grants or {}).items() -%}
            {%- for grantee in grantees | sort -%}
                {%- do rows.append([
                    'table', result.node.schema, result.node.alias, '', privilege | upper, grantee
                ]) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- set column_grants = (result.node.config.meta or {}).get('column_grants') or {} -%}
        {%- if column_grants -%}
            {%- set relation = adapter.get_relation(
                database=result.node.database, schema=result.node.schema, identifier=result.node.alias
            ) -%}
            {%- set open_columns = governed_open_columns(result.node, relation) if relation else [] -%}
            {%- for privilege, grantees in column_grants.items() -%}
                {%- for grantee in grantees | sort -%}
                    {%- for column in open_columns -%}
                        {%- do rows.append([
                            'column', result.node.schema, result.node.alias, column,
                            privilege | upper, grantee
                        ]) -%}
                    {%- endfor -%}
                {%- endfor -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    create schema if not exists audit;
    create table if not exists audit.grant_log (
        invocation_id {{ dbt.type_string() }},
        granted_at {{ dbt.type_timestamp() }},
        granted_by_login {{ dbt.type_string() }},
        grantor_role {{ dbt.type_string() }},
        object_type {{ dbt.type_string() }},
        object_schema {{ dbt.type_string() }},
        object_name {{ dbt.type_string() }},
        object_column {{ dbt.type_string() }},
        privilege {{ dbt.type_string() }},
        grantee {{ dbt.type_string() }}
    );
    alter table audit.grant_log add column if not exists object_column {{ dbt.type_string() }};
    {% for schema in schemas | sort -%}
        revoke usage on schema {{ adapter.quote(schema) }} from {{ readers | join(', ') }};
        {% if usage.get(schema) -%}
            grant usage on schema {{ adapter.quote(schema) }} to {{ usage[schema] | sort | join(', ') }};
        {% endif -%}
    {%- endfor %}
    {% if rows -%}
        insert into audit.grant_log
        select
            '{{ invocation_id }}',
            now() at time zone 'utc',
            session_user,
            current_user,
            object_type,
            object_schema,
            nullif(object_name, ''),
            nullif(object_column, ''),
            nullif(privilege, ''),
            nullif(grantee, '')
        from (values
            {%- for row in rows %}
            ('{{ row | join("', '") }}'){% if not loop.last %},{% endif %}
            {%- endfor %}
        ) as granted (object_type, object_schema, object_name, object_column, privilege, grantee);
    {%- endif %}
{%- endmacro %}

{% macro duckdb__apply_governance_grants(results) -%}
    select 1 as no_roles_on_duckdb
{%- endmacro %}

{% macro spark__apply_governance_grants(results) -%}
    select 1 as no_roles_on_spark
{%- endmacro %}
