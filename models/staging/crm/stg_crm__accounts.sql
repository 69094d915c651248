{#- One row per CRM account, typed (an account_id or email_domain written as a null marker,
    `NULL`, `\N`, `N/A`, ..., is missing: null_marker_as_missing); in a replay (var
    as_of_date) only the accounts created by the end of that day. -#}
with

crm_accounts as (

    select * from {{ source('crm', 'crm_accounts') }}

),

typed as (

    select
        {{ null_marker_as_missing('account_id', 'account_id') }} as account_id,
        trim(account_name) as account_name,
        {{ lower_unicode(null_marker_as_missing('email_domain', 'email')) }} as email_domain,
        {{ lower_unicode('trim(industry)') }} as industry,
        {{ lower_unicode('trim(segment)') }} as segment,
        upper(trim(country)) as country_code,
        {{ parse_iso_timestamp_utc('trim(created_at)', untrimmed='created_at') }} as created_at,
        {{ lower_unicode('trim(acquisition_channel)') }} as acquisition_channel,
        trim(sales_owner) as sales_owner
    from crm_accounts

),

final as (

    select * from typed
    where {{ is_known_as_of('created_at') }}

)

select * from final
