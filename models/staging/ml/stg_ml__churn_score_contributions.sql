with

source as (

    select * from {{ source('ml', 'churn_score_contributions') }}

),

renamed as (

    select
        account_id || ':' || cast(feature_date as {{ dbt.type_string() }})
        || ':' || model_version || ':' || feature as churn_score_contribution_key,
        account_id || ':' || cast(feature_date as {{ dbt.type_string() }})
        || ':' || model_version as churn_score_key,
        account_id,
        cast(feature_date as date) as feature_date,
        model_version,
        feature,
        cast(feature_value as {{ type_double() }}) as feature_value,
        cast(standardised_value as {{ type_double() }}) as standardised_value,
        cast(coefficient as {{ type_double() }}) as coefficient,
        cast(contribution as {{ type_double() }}) as contribution,
        cast(contribution_rank as {{ dbt.type_int() }}) as contribution_rank
    from source

)

select * from renamed
