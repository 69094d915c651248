{{ config(materialized='table') }}
{#- Every account lawn knows of: the CRM's accounts plus accounts seen only on valid events
    (a feed without a CRM export, or a CRM export that lags). An account without a CRM row
    is created when it was first seen; its segment and channel are 'unknown', so marts that
    group by them keep it instead of losing it in a null group. A CRM account without a
    created_at (optional in the contract) is likewise created when it was first seen on a
    valid event; one never seen has no created_at (it has no activity to anchor).
    A table: as a view, each of its readers (nine models, the features' pre-hook and its
    key tests) scanned every valid event again for the accounts' first events. -#}
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
        crm_accounts.account_id,
        crm_accounts.account_name,
        crm_accounts.email_domain,
        crm_accounts.industry,
        coalesce(crm_accounts.segment, 'unknown') as segment,
        crm_accounts.country_code,
        coalesce(crm_accounts.created_at, first_seen.first_seen_at) as created_at,
        coalesce(crm_accounts.acquisition_channel, 'unknown') as acquisition_channel,
        crm_accounts.sales_owner,
        true as is_in_crm
    from crm_accounts
    left join first_seen on crm_accounts.account_id = first_seen.account_id
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
