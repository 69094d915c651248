-- No account is both churned and active in one month: a churn movement leaves the account
-- at zero MRR at month end, and an active (paying) month never records a churn.
with

mrr as (

    select * from {{ ref('fct_mrr') }}

),

movements as (

    select * from {{ ref('fct_mrr_movements') }}
    where movement_type = 'churn'

),

final as (

    select
        movements.account_id,
        movements.month_start,
        mrr.mrr_usd
    from movements
    inner join mrr
        on movements.account_id = mrr.account_id and movements.month_start = mrr.month_start
    where mrr.is_active or mrr.mrr_usd <> 0

)

select * from final
