with

source as (

    select * from {{ source('ml', 'uplift_scores') }}

),

renamed as (

    select
        uplift_model_id || ':' || account_id || ':' || cast(feature_date as {{ dbt.type_string() }})
        || ':' || model_version as uplift_score_key,
        uplift_model_id,
        account_id,
        cast(feature_date as date) as feature_date,
        model_version,
        cast(uplift as {{ type_double() }}) as uplift,
        cast(scored_at as {{ dbt.type_timestamp() }}) as scored_at
    from source

)

select * from renamed
