{#- Net and gross revenue retention per month, first-payment cohort and segment: the
    accounts paying at the end of the previous month (the base), what their MRR became
    (expansion, contraction, churn), NRR = retained / starting MRR, GRR = starting MRR minus
    contraction and churn over starting MRR, logo churn and expansion rates; plus new and
    reactivated MRR from accounts outside the base. Components are additive, so any
    roll-up is a ratio of sums (as the semantic-layer metrics compute it). Accounts already
    paying before the event history starts enter outside the base as `existing` MRR, not
    new. -#}
with

monthly as (

    select * from {{ ref('int_account_mrr_monthly') }}

),

accounts as (

    select * from {{ ref('int_accounts_combined') }}

),

joined as (

    select
        monthly.*,
        accounts.segment
    from monthly
    left join accounts on monthly.account_id = accounts.account_id

),

aggregated as (

    select
        month_start,
        first_paid_month as cohort_month,
        segment,
        count(case when previous_mrr_usd > 0 then 1 end) as starting_accounts,
        sum(case when previous_mrr_usd > 0 then previous_mrr_usd else 0 end)
            as starting_mrr_usd,
        sum(case when previous_mrr_usd > 0 then mrr_usd else 0 end) as retained_mrr_usd,
        sum(case when movement_type = 'expansion' then mrr_change_usd else 0 end)
            as expansion_mrr_usd,
        -sum(case when movement_type = 'contraction' then mrr_change_usd else 0 end)
            as contraction_mrr_usd,
        sum(case when movement_type = 'churn' then previous_mrr_usd else 0 end)
            as churned_mrr_usd,
        count(case when movement_type = 'churn' then 1 end) as churned_accounts,
        count(case when movement_type = 'expansion' then 1 end) as expanded_accounts,
        sum(case when movement_type = 'new' then mrr_usd else 0 end) as new_mrr_usd,
        sum(case when movement_type = 'reactivation' then mrr_usd else 0 end)
            as reactivation_mrr_usd,
        sum(case when movement_type = 'existing' then mrr_usd else 0 end) as existing_mrr_usd,
        sum(mrr_usd) as ending_mrr_usd
    from joined
    group by month_start, first_paid_month, segment

),

final as (

    select
        cast(month_start as {{ dbt.type_string() }}) || ':'
        || cast(cohort_month as {{ dbt.type_string() }}) || ':' || segment
            as revenue_retention_key,
        month_start,
        cohort_month,
        segment,
        starting_accounts,
        cast(starting_mrr_usd as decimal(18, 2)) as starting_mrr_usd,
        cast(retained_mrr_usd as decimal(18, 2)) as retained_mrr_usd,
        cast(expansion_mrr_usd as decimal(18, 2)) as expansion_mrr_usd,
        cast(contraction_mrr_usd as decimal(18, 2)) as contraction_mrr_usd,
        cast(churned_mrr_usd as decimal(18, 2)) as churned_mrr_usd,
        churned_accounts,
        expanded_accounts,
        cast(new_mrr_usd as decimal(18, 2)) as new_mrr_usd,
        cast(reactivation_mrr_usd as decimal(18, 2)) as reactivation_mrr_usd,
        cast(existing_mrr_usd as decimal(18, 2)) as existing_mrr_usd,
        cast(ending_mrr_usd as decimal(18, 2)) as ending_mrr_usd,
        case
            when starting_mrr_usd > 0
                then cast(retained_mrr_usd as {{ type_double() }}) / starting_mrr_usd
        end as net_revenue_retention,
        case
            when starting_mrr_usd > 0
                then cast(
                        starting_mrr_usd - contraction_mrr_usd - churned_mrr_usd
                        as {{ type_double() }}
                    ) / starting_mrr_usd
        end as gross_revenue_retention,
        case
            when starting_accounts > 0
                then cast(churned_accounts as {{ type_double() }}) / starting_accounts
        end as logo_churn_rate,
        case
            when starting_mrr_usd > 0
                then cast(expansion_mrr_usd as {{ type_double() }}) / starting_mrr_usd
        end as expansion_rate
    from aggregated

)

select * from final
