with

source as (

    select * from {{ source('ml', 'bandit_assignments') }}

),

renamed as (

    select
        bandit_id || ':' || action_id as bandit_assignment_key,
        bandit_id,
        cast(decision_day as date) as decision_day,
        action_id,
        account_id,
        context,
        arm,
        is_holdout,
        cast(propensity as {{ type_double() }}) as propensity,
        cast(assigned_at as {{ dbt.type_timestamp() }}) as assigned_at
    from source

)

select * from renamed
