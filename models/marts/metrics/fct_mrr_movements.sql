{#- One row per account and month in which its MRR moved: new, reactivation, expansion,
    contraction or churn, with the signed amount. Summed over a month the amounts equal
    that month's change in total MRR. -#}
with

monthly as (

    select * from {{ ref('int_account_mrr_monthly') }}
    where movement_type <> 'none'

),

accounts as (

    select * from {{ ref('int_accounts_combined') }}

),

final as (

    select
        monthly.account_month_key as mrr_movement_key,
        monthly.account_id,
        monthly.month_start,
        accounts.segment,
        accounts.acquisition_channel,
        monthly.first_paid_month as cohort_month,
        monthly.movement_type,
        monthly.previous_mrr_usd as mrr_before_usd,
        monthly.mrr_usd as mrr_after_usd,
        monthly.mrr_change_usd as movement_usd
    from monthly
    left join accounts on monthly.account_id = accounts.account_id

)

select * from final
