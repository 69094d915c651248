with

source as (

    select * from {{ source('ml', 'model_monitoring') }}

),

renamed as (

    select
        {{ dbt.concat([
            "cast(as_of_date as " ~ dbt.type_string() ~ ")", "':'", "model_version", "':'",
            "check_name", "':'", "subject", "':'", "slice_dimension", "':'", "slice_value",
        ]) }} as monitoring_check_key,
        cast(as_of_date as date) as as_of_date,
        model_version,
        is_shadow,
        check_name,
        subject,
        slice_dimension,
        slice_value,
        cast(metric_value as {{ type_double() }}) as metric_value,
        cast(threshold as {{ type_double() }}) as threshold,
        cast(row_count as {{ dbt.type_bigint() }}) as row_count,
        is_flagged,
        cast(run_at as {{ dbt.type_timestamp() }}) as run_at
    from source

)

select * from renamed
