{% macro account_activity_daily(events_relation, events_filter=none) -%}
    {#- The rows of int_account_activity_daily (per account and day of receipt: what the
        account did and was sent), as one SELECT without CTEs. `events_filter` (SQL on the
        columns of `events_relation`, optional) keeps only some events before the JSON look-up
        and the aggregation: fct_account_features_daily's incremental run reads the last weeks
        this way, and the accounts it recomputes in full (docs/full_build_cost.md). A filter
        that keeps every event of an (account, day) gives that row exactly as the view has it. -#}
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
    from (
        select
            account_id,
            event_name,
            cast(received_at as date) as received_date,
            {{ integer_property_value(json_extract_scalar('properties', "'status_code'"), dbt.type_int()) }}
                as status_code
        from {{ events_relation }}
        where
            account_id is not null
            {%- if events_filter is not none %}
                and ({{ events_filter }})
            {%- endif %}
    ) as activity_events
    group by account_id, received_date
{%- endmacro %}
