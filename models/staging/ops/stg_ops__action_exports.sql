{#- The bandit columns came later: a ledger created before them (the on-run-start hook only
    creates missing tables; the export adds the columns on its next run) reads them as empty. -#}
{%- set bandit = {} -%}
{%- set existing = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(source('ops', 'action_exports')) -%}
        {%- do existing.append(column.name | lower) -%}
    {%- endfor -%}
{%- endif -%}
{%- set empty = 'cast(null as ' ~ dbt.type_string() ~ ')' -%}
{%- for column in ['bandit_id', 'bandit_arm', 'bandit_template_id'] -%}
    {%- do bandit.update({column: column if column in existing else empty}) -%}
{%- endfor -%}
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
        {% if 'reason' in existing or not execute -%}
            reason,
        {%- else -%}
            cast(null as {{ dbt.type_string() }}) as reason,
        {%- endif %}
        {{ bandit['bandit_id'] }} as bandit_id,
        {{ bandit['bandit_arm'] }} as bandit_arm,
        {{ bandit['bandit_template_id'] }} as bandit_template_id
    from source

)

select * from renamed
