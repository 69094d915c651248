with

source as (

    select * from {{ source('privacy', 'landing_exclusions') }}

),

renamed as (

    select
        load_id || ':' || relation_name || ':' || reason as landing_exclusion_key,
        load_id,
        relation_name,
        reason,
        cast(rows_excluded as {{ dbt.type_bigint() }}) as rows_excluded,
        cast(rows_redacted as {{ dbt.type_bigint() }}) as rows_redacted,
        cast(cutoff_at as {{ dbt.type_timestamp() }}) as cutoff_at,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source

)

select * from renamed
