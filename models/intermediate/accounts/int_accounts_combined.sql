{#- Every account lawn knows of: the CRM's accounts plus accounts seen only on valid events
    (a feed without a CRM export, or a CRM export that lags). An account without a CRM row
    is created when it was first seen; its segment and channel are 'unknown', so marts that
    group by them keep it instead of losing it in a null group. -#}
with

crm_accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

events as (

    select
        account_id,
        occurred_at
    from {{ ref('int_events_valid') }}
    where account_id is not null

),

first_seen as (

    select
        account_id,
        min(occurred_at) as first_seen_at
    from events
    group by account_id

),

event_only as (

    select first_seen.*
    from first_seen
    left join crm_accounts on first_seen.account_id = crm_accounts.account_id
    where crm_accounts.account_id is null

),

combined as (

    select
        account_id,
        account_name,
        email_domain,
        industry,
        coalesce(segment, 'unknown') as segment,
        country_code,
        created_at,
        coalesce(acquisition_channel, 'unknown') as acquisition_channel,
        sales_owner,
        true as is_in_crm
    from crm_accounts
    union all
    select
        account_id,
        cast(null as {{ dbt.type_string() }}) as account_name,
        cast(null as {{ dbt.type_string() }}) as email_domain,
        cast(null as {{ dbt.type_string() }}) as industry,
        'unknown' as segment,
        cast(null as {{ dbt.type_string() }}) as country_code,
        first_seen_at as created_at,
        'unknown' as acquisition_channel,
        cast(null as {{ dbt.type_string() }}) as sales_owner,
        false as is_in_crm
    from event_only

)

select * from combined
