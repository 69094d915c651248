{#- Customer acquisition cost and payback per month and acquisition channel: marketing
    spend of the month over the accounts of that channel whose first payment fell in the
    month; payback months = CAC over the new customers' average first MRR times the gross
    margin (var gross_margin_rate). Channels without spend (organic, referral) have a CAC
    of zero. A month with no spend data at all (a feed without marketing_spend) has unknown
    spend, CAC and payback (null), not zero; so has the `unknown` channel (accounts the CRM
    gives no channel, or no CRM at all) unless the spend file names it: its customers' spend
    is on other channels, not zero. Spend is summed to the micro-dollar and rounded to cents
    once, in spend_usd; CAC and payback divide the row's own spend_usd and new_mrr_usd (so
    spend_usd / new_customers is cac_usd exactly, as the semantic layer's `cac` computes it
    from this mart; they once divided the unrounded sum, 150.12346 against a shown 150.12).
    Month x channel rows exist
    where there was spend or a new customer. -#}
with

mrr_months as (

    select * from {{ ref('int_account_mrr_monthly') }}

),

crm_accounts as (

    select * from {{ ref('int_accounts_combined') }}

),

spend as (

    select
        cast({{ dbt.date_trunc('month', 'spend_date') }} as date) as month_start,
        channel as acquisition_channel,
        sum(spend_usd) as spend_usd,
        sum(clicks) as clicks
    from {{ ref('stg_marketing__ad_spends') }}
    group by 1, 2

),

spend_months as (

    select distinct month_start from spend

),

new_customers as (

    select
        mrr_months.month_start,
        crm_accounts.acquisition_channel,
        count(*) as new_customers,
        sum(mrr_months.mrr_usd) as new_mrr_usd
    from mrr_months
    inner join crm_accounts on mrr_months.account_id = crm_accounts.account_id
    where mrr_months.movement_type = 'new'
    group by 1, 2

),

keys as (

    select
        month_start,
        acquisition_channel
    from spend
    union
    select
        month_start,
        acquisition_channel
    from new_customers

),

joined as (

    select
        keys.month_start,
        keys.acquisition_channel,
        case
            when spend_months.month_start is null then null
            when spend.acquisition_channel is null and keys.acquisition_channel = 'unknown'
                then null
            else coalesce(spend.spend_usd, 0)
        end as spend_usd,
        -- a channel the spend file names without clicks (the optional column absent or
        -- empty) has unknown clicks, not 0; one it does not name bought none
        case
            when spend_months.month_start is null then null
            when spend.acquisition_channel is null and keys.acquisition_channel = 'unknown'
                then null
            when spend.acquisition_channel is null then 0
            else spend.clicks
        end as clicks,
        coalesce(new_customers.new_customers, 0) as new_customers,
        coalesce(new_customers.new_mrr_usd, 0) as new_mrr_usd
    from keys
    left join spend_months on keys.month_start = spend_months.month_start
    left join spend
        on
            keys.month_start = spend.month_start
            and keys.acquisition_channel = spend.acquisition_channel
    left join new_customers
        on
            keys.month_start = new_customers.month_start
            and keys.acquisition_channel = new_customers.acquisition_channel

),

rounded as (

    select
        month_start,
        acquisition_channel,
        cast(spend_usd as decimal(18, 2)) as spend_usd,
        cast(clicks as {{ dbt.type_bigint() }}) as clicks,
        new_customers,
        cast(new_mrr_usd as decimal(18, 2)) as new_mrr_usd
    from joined

),

final as (

    select
        cast(month_start as {{ dbt.type_string() }}) || ':' || acquisition_channel
            as cac_key,
        month_start,
        acquisition_channel,
        spend_usd,
        clicks,
        new_customers,
        new_mrr_usd,
        case
            when new_customers > 0 then cast(spend_usd as {{ type_double() }}) / new_customers
        end as cac_usd,
        case
            when new_mrr_usd > 0
                then cast(spend_usd as {{ type_double() }})
                    / (cast(new_mrr_usd as {{ type_double() }}) * {{ var('gross_margin_rate') }})
        end as payback_months
    from rounded

)

select * from final
