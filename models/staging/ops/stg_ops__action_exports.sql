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
        export_path
    from source

)

select * from renamed
