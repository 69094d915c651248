with

source as (

    select * from {{ source('privacy', 'retention_audit') }}

),

renamed as (

    select
        run_id || ':' || relation_name as retention_audit_key,
        run_id,
        relation_name,
        retention_class,
        policy_action,
        cast(keep_days as {{ dbt.type_bigint() }}) as keep_days,
        time_column,
        cast(cutoff_at as {{ dbt.type_timestamp() }}) as cutoff_at,
        cast(rows_affected as {{ dbt.type_bigint() }}) as rows_affected,
        cast(is_dry_run as {{ dbt.type_boolean() }}) as is_dry_run,
        cast(applied_at as {{ dbt.type_timestamp() }}) as applied_at
    from source

)

select * from renamed
