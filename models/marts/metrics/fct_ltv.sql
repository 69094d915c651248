{#- Observed lifetime value per signup cohort (month of CRM creation), segment, acquisition
    channel and horizon (var ltv_horizons_days): cash collected (invoice_paid, each
    invoice_id of an account once) on calendar
    days 0..N after each account's creation, averaged over the accounts whose N days are
    fully observed: over by the end of the data, and not begun before its first day (an
    account the CRM created before the event history starts has invoices there that the
    warehouse never saw). Accounts too young for a horizon are counted but not averaged; a
    horizon no account has reached yet has no LTV. A CRM account with no created_at and no
    valid event has no creation day and is left out. -#}
with

accounts as (

    select * from {{ ref('int_accounts_combined') }}
    where created_at is not null

),

invoice_payments as (

    select
        account_id,
        occurred_date,
        {{ try_cast(json_extract_scalar('properties', "'amount_usd'"), 'decimal(18, 2)') }}
            as amount_usd,
        -- an invoice is paid once: an account's invoice_id sent again under another event id
        -- (a billing system's invoice.paid and invoice.payment_succeeded both mapped to
        -- invoice_paid) is the same cash, counted on its first payment; an empty id is its
        -- own invoice
        row_number() over (
            partition by
                account_id,
                coalesce(
                    nullif({{ json_extract_scalar('properties', "'invoice_id'") }}, ''),
                    event_id
                )
            order by occurred_at, event_id
        ) as payment_number
    from {{ ref('int_events_attributed') }}
    where event_name = 'invoice_paid' and account_id is not null

),

invoices as (

    select
        account_id,
        occurred_date,
        amount_usd
    from invoice_payments
    where payment_number = 1

),

as_of as (

    select * from {{ ref('int_data_day') }}

),

horizons as (

    {% for horizon in var('ltv_horizons_days') -%}
        select {{ horizon }} as horizon_days
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

account_horizons as (

    select
        accounts.account_id,
        accounts.segment,
        accounts.acquisition_channel,
        cast({{ dbt.date_trunc('month', 'accounts.created_at') }} as date) as cohort_month,
        cast(accounts.created_at as date) as created_date,
        horizons.horizon_days,
        cast(
            {{ dbt.dateadd('day', 'horizons.horizon_days', 'accounts.created_at') }} as date
        ) as horizon_end_date
    from accounts
    cross join horizons

),

account_revenue as (

    select
        account_horizons.*,
        account_horizons.horizon_end_date <= as_of.data_end_date
        and account_horizons.created_date >= as_of.data_start_date as is_observed,
        coalesce(sum(invoices.amount_usd), 0) as revenue_usd
    from account_horizons
    cross join as_of
    left join invoices
        on
            account_horizons.account_id = invoices.account_id
            and invoices.occurred_date
            between account_horizons.created_date and account_horizons.horizon_end_date
    group by
        account_horizons.account_id,
        account_horizons.segment,
        account_horizons.acquisition_channel,
        account_horizons.cohort_month,
        account_horizons.created_date,
        account_horizons.horizon_days,
        account_horizons.horizon_end_date,
        as_of.data_end_date,
        as_of.data_start_date

),

aggregated as (

    select
        cohort_month,
        segment,
        acquisition_channel,
        horizon_days,
        count(*) as cohort_accounts,
        count(case when is_observed then 1 end) as observed_accounts,
        count(case when is_observed and revenue_usd > 0 then 1 end) as paying_accounts,
        sum(case when is_observed then revenue_usd else 0 end) as revenue_usd
    from account_revenue
    group by cohort_month, segment, acquisition_channel, horizon_days

),

final as (

    select
        cast(cohort_month as {{ dbt.type_string() }}) || ':' || segment || ':'
        || acquisition_channel || ':' || cast(horizon_days as {{ dbt.type_string() }})
            as ltv_key,
        cohort_month,
        segment,
        acquisition_channel,
        horizon_days,
        cohort_accounts,
        observed_accounts,
        paying_accounts,
        cast(revenue_usd as decimal(18, 2)) as revenue_usd,
        case
            when observed_accounts > 0
                then cast(revenue_usd as {{ type_double() }}) / observed_accounts
        end as ltv_usd,
        observed_accounts = cohort_accounts as is_complete
    from aggregated

)

select * from final
