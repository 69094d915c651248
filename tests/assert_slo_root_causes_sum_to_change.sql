-- For every SLO and dimension, the contributions sum to the metric's change from baseline
-- to current (within floating-point tolerance), so the decomposition explains it all.
with

causes as (

    select * from {{ ref('fct_slo_root_causes') }}

),

status as (

    select * from {{ ref('fct_slo_status') }}
    where is_latest and units > 0 and baseline_units > 0

),

summed as (

    select
        slo_id,
        dimension_name,
        sum(contribution) as total_contribution
    from causes
    group by slo_id, dimension_name

),

final as (

    select
        summed.slo_id,
        summed.dimension_name,
        summed.total_contribution,
        status.change_vs_baseline
    from summed
    inner join status on summed.slo_id = status.slo_id
    where abs(summed.total_contribution - status.change_vs_baseline) > 1e-9

)

select * from final
