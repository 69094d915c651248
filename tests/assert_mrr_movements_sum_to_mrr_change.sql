-- Each month, the MRR movements sum exactly to the change of total MRR since the previous
-- month. Rows returned = months where they do not.
with

mrr as (

    select * from {{ ref('fct_mrr') }}

),

movements as (

    select * from {{ ref('fct_mrr_movements') }}

),

monthly_total as (

    select
        month_start,
        sum(mrr_usd) as total_mrr_usd
    from mrr
    group by month_start

),

monthly_change as (

    select
        month_start,
        total_mrr_usd
        - coalesce(lag(total_mrr_usd) over (order by month_start), 0) as mrr_change_usd
    from monthly_total

),

monthly_movements as (

    select
        month_start,
        sum(movement_usd) as movement_usd
    from movements
    group by month_start

),

final as (

    select
        monthly_change.month_start,
        monthly_change.mrr_change_usd,
        coalesce(monthly_movements.movement_usd, 0) as movement_usd
    from monthly_change
    left join monthly_movements on monthly_change.month_start = monthly_movements.month_start
    where monthly_change.mrr_change_usd <> coalesce(monthly_movements.movement_usd, 0)

)

select * from final
