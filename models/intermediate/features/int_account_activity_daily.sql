{#- Per account and day of receipt: counts of what the account did and was sent, by the
    day the warehouse received it (not the day it happened), so a feature built from
    these rows for day D only sees data received by the end of D. -#}
with

events as (

    select
        account_id,
        event_name,
        cast(received_at as date) as received_date,
        {{ try_cast(json_extract_scalar('properties', "'status_code'"), dbt.type_int()) }}
            as status_code
    from {{ ref('int_events_valid') }}
    where account_id is not null

),

final as (

    select
        account_id || ':' || cast(received_date as {{ dbt.type_string() }}) as account_day_key,
        account_id,
        received_date,
        count(case when event_name = 'feature_used' then 1 end) as feature_uses,
        count(case when event_name = 'support_ticket_created' then 1 end) as support_tickets,
        count(case when event_name = 'email_delivered' then 1 end) as emails_delivered,
        count(case when event_name = 'email_opened' then 1 end) as emails_opened,
        count(case when event_name = 'api_request' then 1 end) as api_requests,
        count(case
            when event_name = 'rate_limited' or (event_name = 'api_request' and status_code >= 400)
                then 1
        end) as api_errors
    from events
    group by account_id, received_date

)

select * from final
