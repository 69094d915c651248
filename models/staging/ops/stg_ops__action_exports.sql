{#- The bandit columns came later: a ledger created before them (the on-run-start hook only
    creates missing tables; the export adds the columns on its next run) reads them as empty. -#}
{%- set bandit_columns = ['bandit_id', 'bandit_arm', 'bandit_template_id'] -%}
{%- set existing = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(source('ops', 'action_exports')) -%}
        {%- do existing.append(column.name | lower) -%}
    {%- endfor -%}
{%- endif -%}
with

source as (

    select * from {{ source('ops', 'action_exports') }}

),

renamed as (

    select
        run_id || ':' || action_id || ':' || record_type as action_export_key,
        run_id,
        action_id,
        record_type,
        cast(exported_at as {{ dbt.type_timestamp() }}) as exported_at,
        export_path,
        rule_id,
        action_type,
        destination,
        playbook,
        account_key,
        assignee,
        cast(decided_on as date) as decided_on,
        trigger_inputs,
        cast(churn_probability as {{ type_double() }}) as churn_probability,
        model_version,
        {%- for column in bandit_columns %}
            {% if column in existing %}{{ column }}{% else %}cast(null as {{ dbt.type_string() }}){% endif %}
            as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from source

)

select * from renamed
