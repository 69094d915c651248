with

source as (

    select * from {{ source('ml', 'churn_scores') }}

),

renamed as (

    select
        account_id || ':' || cast(feature_date as {{ dbt.type_string() }})
        || ':' || model_version as churn_score_key,
        account_id,
        cast(feature_date as date) as feature_date,
        model_version,
        is_shadow,
        cast(churn_probability as {{ type_double() }}) as churn_probability,
        cast(scored_at as {{ dbt.type_timestamp() }}) as scored_at
    from source

)

select * from renamed
