{#- `reason` (why the action was decided, as sent) came after the first ledgers: a ledger
    created before it has no such column until the next export adds it, and reads as null. -#}
{%- set ledger_columns = [] -%}
{%- if execute -%}
    {%- set ledger_columns = adapter.get_columns_in_relation(source('ops', 'action_exports'))
        | map(attribute='name') | map('lower') | list -%}
{%- endif %}
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
        {% if 'reason' in ledger_columns or not execute -%}
            reason
        {%- else -%}
            cast(null as {{ dbt.type_string() }}) as reason
        {%- endif %}
    from source

)

select * from renamed
