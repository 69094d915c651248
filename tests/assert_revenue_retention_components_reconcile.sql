-- Retained MRR = starting + expansion - contraction - churned, for every group.
select *
from {{ ref('fct_revenue_retention') }}
where
    retained_mrr_usd
    <> starting_mrr_usd + expansion_mrr_usd - contraction_mrr_usd - churned_mrr_usd
