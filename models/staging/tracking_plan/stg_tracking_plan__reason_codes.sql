-- depends_on: {{ ref('quarantine_reason_codes') }}
with

reason_codes as (

    select * from {{ source('tracking_plan', 'quarantine_reason_codes') }}

),

final as (

    select
        reason_code,
        check_scope,
        severity_rank,
        description
    from reason_codes

)

select * from final
