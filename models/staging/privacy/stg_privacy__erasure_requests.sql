with

source as (

    select * from {{ source('privacy', 'erasure_requests') }}

),

renamed as (

    select
        request_id,
        requested_by_type,
        person_hash,
        cast(identifiers_erased as {{ dbt.type_bigint() }}) as identifiers_erased,
        cast(rows_erased as {{ dbt.type_bigint() }}) as rows_erased,
        cast(files_rewritten as {{ dbt.type_bigint() }}) as files_rewritten,
        cast(requested_at as {{ dbt.type_timestamp() }}) as requested_at,
        cast(completed_at as {{ dbt.type_timestamp() }}) as completed_at,
        cast(seconds_taken as {{ type_double() }}) as seconds_taken
    from source

)

select * from renamed
