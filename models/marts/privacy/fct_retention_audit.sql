{{ config(materialized='view') }}
{#- A view, so it shows the audit as it is (retention runs after the build). One row per
    retention run and table, with the policy applied and the rows it affected. -#}
with

audit as (

    select * from {{ ref('stg_privacy__retention_audit') }}

),

final as (

    select
        retention_audit_key,
        run_id,
        relation_name,
        retention_class,
        policy_action,
        keep_days,
        time_column,
        cutoff_at,
        rows_affected,
        is_dry_run,
        applied_at
    from audit

)

select * from final
