{#- One row per account and month since its first payment: month-end MRR and ARR, plan,
    the change since the previous month and the movement it was. -#}
with

monthly as (

    select * from {{ ref('int_account_mrr_monthly') }}

),

accounts as (

    select * from {{ ref('int_accounts_combined') }}

),

final as (

    select
        monthly.account_month_key,
        monthly.account_id,
        monthly.month_start,
        accounts.segment,
        accounts.acquisition_channel,
        monthly.first_paid_month as cohort_month,
        monthly.plan,
        monthly.mrr_usd,
        cast(monthly.mrr_usd * 12 as decimal(18, 2)) as arr_usd,
        monthly.previous_mrr_usd,
        monthly.mrr_change_usd,
        monthly.movement_type,
        monthly.mrr_usd > 0 as is_active
    from monthly
    left join accounts on monthly.account_id = accounts.account_id

)

select * from final
