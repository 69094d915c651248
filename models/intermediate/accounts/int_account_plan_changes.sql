{#- Every subscription change an account went through (plan_changed events, both schema
    versions), numbered newest first. -#}
with

plan_changes as (

    select
        event_id,
        account_id,
        occurred_at,
        schema_version,
        properties
    from {{ ref('int_events_valid') }}
    where event_name = 'plan_changed' and account_id is not null

),

parsed as (

    select
        event_id,
        account_id,
        occurred_at,
        schema_version,
        {{ json_extract_scalar('properties', "'from_plan'") }} as from_plan,
        {{ json_extract_scalar('properties', "'to_plan'") }} as to_plan,
        cast({{ json_extract_scalar('properties', "'mrr_usd'") }} as decimal(18, 2))
            as mrr_usd,
        {{ try_cast(json_extract_scalar('properties', "'seats'"), dbt.type_int()) }} as seats,
        {{ json_extract_scalar('properties', "'billing_period'") }} as billing_period
    from plan_changes

),

final as (

    select
        parsed.*,
        row_number() over (
            partition by parsed.account_id order by parsed.occurred_at desc, parsed.event_id desc
        ) as recency_rank
    from parsed

)

select * from final
