{#- Allocation over time: one row per bandit, decision day, context and arm, as the nightly's
    bandit step wrote it (ml.bandit_allocations: posterior Beta parameters, probability of
    being best, share, seed and draws, so lawn.bandit.verify_allocation recomputes the share),
    with the posterior mean and the number of actions the day's allocation placed on the arm. -#}
with

allocations as (

    select * from {{ ref('stg_ml__bandit_allocations') }}

),

assignments as (

    select * from {{ ref('stg_ml__bandit_assignments') }}

),

arms as (

    select * from {{ ref('bandit_arms') }}

),

placed as (

    select
        bandit_id,
        decision_day,
        context,
        arm,
        count(*) as actions_assigned,
        sum(case when is_holdout then 1 else 0 end) as holdout_actions_assigned
    from assignments
    group by bandit_id, decision_day, context, arm

),

final as (

    select
        allocations.bandit_allocation_key,
        allocations.bandit_id,
        allocations.decision_day,
        allocations.context,
        allocations.arm,
        arms.template_id,
        allocations.posterior_alpha,
        allocations.posterior_beta,
        allocations.posterior_alpha
        / (allocations.posterior_alpha + allocations.posterior_beta) as posterior_mean,
        allocations.prob_best,
        allocations.share,
        allocations.holdout_share
        / count(*)
            over (
                partition by allocations.bandit_id, allocations.decision_day, allocations.context
            )
        + (1 - allocations.holdout_share) * allocations.share as propensity,
        allocations.seed,
        allocations.draws,
        allocations.exploration_floor,
        allocations.holdout_share,
        coalesce(placed.actions_assigned, 0) as actions_assigned,
        cast(coalesce(placed.holdout_actions_assigned, 0) as {{ dbt.type_bigint() }})
            as holdout_actions_assigned
    from allocations
    inner join arms
        on
            allocations.bandit_id = arms.bandit_id
            and allocations.arm = arms.arm
    left join placed
        on
            allocations.bandit_id = placed.bandit_id
            and allocations.decision_day = placed.decision_day
            and allocations.context = placed.context
            and allocations.arm = placed.arm

)

select * from final
