with

source as (

    select * from {{ source('ops', 'nightly_runs') }}

),

renamed as (

    select
        run_id,
        cast(as_of_date as date) as as_of_date,
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(finished_at as {{ dbt.type_timestamp() }}) as finished_at,
        status,
        failed_step,
        cast(slo_breaches as {{ dbt.type_bigint() }}) as slo_breaches
    from source

)

select * from renamed
