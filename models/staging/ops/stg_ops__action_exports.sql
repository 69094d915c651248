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
        bandit_id,
        bandit_arm,
        bandit_template_id
    from source

)

select * from renamed
