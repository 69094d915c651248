{#- The bandit readout: one row per bandit and arm, over every assignment whose reward window
    has closed (fct_bandit_outcomes).
    - naive_rate: the arm's plain mean reward. Biased under adaptive allocation (an arm that
      starts unlucky is starved and keeps its low estimate): shown only for contrast.
    - ipw_rate, ipw_se: Horvitz-Thompson, mean over the arm's eligible units (the closed
      units decided on a night whose allocation, in the unit's context, offered the arm) of
      reward x 1[arm] / propensity (as lawn.bandit.ipw_means), unbiased because every such
      propensity is > 0 (the floor and the uniform holdout). An arm added mid-experiment is
      not averaged over the units decided before it existed (propensity 0 there: a probe's
      new arm read 0.172 for 0.4265); an arm no night offered has no rate (null).
    - holdout_rate: the plain mean reward of the uniform holdout's units (the value of
      uniform allocation, unbiased: those units were never allocated adaptively), and
      holdout_arm_rate: the arm's plain mean within the holdout.
    - lift_vs_holdout = ipw_rate - holdout_rate with an always-valid (mixture SPRT) interval
      and p-value, the formula of fct_experiment_readouts (normal mixture of sd
      tau = var sequential_relative_tau x holdout_rate; alpha from the registry), so it may be
      read every night. Its variance adds the two estimates' variances: the holdout units
      enter both estimates with the same sign, so the covariance is >= 0 and the sum is
      conservative. -#}
with

outcomes as (

    select * from {{ ref('fct_bandit_outcomes') }}
    where is_window_closed

),

registry as (

    select * from {{ ref('bandit_registry') }}

),

arms as (

    select * from {{ ref('bandit_arms') }}

),

offered as (

    -- the arms each night's allocation offered, per context: the units they could reach
    select distinct
        bandit_id,
        decision_day,
        context,
        arm
    from {{ ref('stg_ml__bandit_allocations') }}

),

arm_eligible as (

    select
        offered.bandit_id,
        offered.arm,
        count(*) as eligible_units
    from outcomes
    inner join offered
        on
            outcomes.bandit_id = offered.bandit_id
            and outcomes.decision_day = offered.decision_day
            and outcomes.context = offered.context
    group by offered.bandit_id, offered.arm

),

bandit_totals as (

    select
        bandit_id,
        count(*) as closed_units,
        sum(case when is_holdout then 1 else 0 end) as holdout_units,
        sum(case when is_holdout then reward else 0 end) as holdout_rewards
    from outcomes
    group by bandit_id

),

arm_sums as (

    select
        arms.bandit_id,
        arms.arm,
        arms.template_id,
        count(outcomes.bandit_assignment_key) as arm_units,
        coalesce(sum(outcomes.reward), 0) as arm_rewards,
        coalesce(
            sum(cast(outcomes.reward as {{ type_double() }}) / outcomes.propensity), 0
        ) as ipw_sum,
        coalesce(
            sum(power(cast(outcomes.reward as {{ type_double() }}) / outcomes.propensity, 2)), 0
        ) as ipw_sum_squares,
        sum(case when outcomes.is_holdout then 1 else 0 end) as holdout_arm_units,
        sum(case when outcomes.is_holdout then outcomes.reward else 0 end) as holdout_arm_rewards
    from arms
    left join outcomes
        on
            arms.bandit_id = outcomes.bandit_id
            and arms.arm = outcomes.arm
    group by arms.bandit_id, arms.arm, arms.template_id

),

estimates as (

    select
        arm_sums.bandit_id,
        arm_sums.arm,
        arm_sums.template_id,
        coalesce(bandit_totals.closed_units, 0) as closed_units,
        coalesce(arm_eligible.eligible_units, 0) as eligible_units,
        arm_sums.arm_units,
        arm_sums.arm_rewards,
        cast(arm_sums.arm_rewards as {{ type_double() }})
        / nullif(arm_sums.arm_units, 0) as naive_rate,
        arm_sums.ipw_sum / nullif(arm_eligible.eligible_units, 0) as ipw_rate,
        sqrt(
            (
                arm_sums.ipw_sum_squares
                - power(arm_sums.ipw_sum, 2) / nullif(arm_eligible.eligible_units, 0)
            )
            / nullif(arm_eligible.eligible_units - 1, 0)
            / nullif(arm_eligible.eligible_units, 0)
        ) as ipw_se,
        coalesce(bandit_totals.holdout_units, 0) as holdout_units,
        cast(bandit_totals.holdout_rewards as {{ type_double() }})
        / nullif(bandit_totals.holdout_units, 0) as holdout_rate,
        arm_sums.holdout_arm_units,
        cast(arm_sums.holdout_arm_rewards as {{ type_double() }})
        / nullif(arm_sums.holdout_arm_units, 0) as holdout_arm_rate,
        -- sample variance of the holdout's 0/1 rewards over its units
        (
            bandit_totals.holdout_rewards
            - power(bandit_totals.holdout_rewards, 2) / nullif(bandit_totals.holdout_units, 0)
        )
        / nullif(bandit_totals.holdout_units - 1, 0)
        / nullif(bandit_totals.holdout_units, 0) as holdout_sampling_variance,
        registry.alpha
    from arm_sums
    inner join registry on arm_sums.bandit_id = registry.bandit_id
    left join bandit_totals on arm_sums.bandit_id = bandit_totals.bandit_id
    left join arm_eligible
        on
            arm_sums.bandit_id = arm_eligible.bandit_id
            and arm_sums.arm = arm_eligible.arm

),

compared as (

    select
        *,
        ipw_rate - holdout_rate as lift_vs_holdout,
        nullif(power(ipw_se, 2) + holdout_sampling_variance, 0) as sampling_variance,
        nullif(power({{ var('sequential_relative_tau') }} * holdout_rate, 2), 0) as mixture_variance
    from estimates

),

sequential as (

    select
        *,
        sqrt((sampling_variance + mixture_variance) / sampling_variance)
        * exp(
            -mixture_variance * power(lift_vs_holdout, 2)
            / (2 * sampling_variance * (sampling_variance + mixture_variance))
        ) as inverse_likelihood_ratio,
        sqrt(
            sampling_variance * (sampling_variance + mixture_variance) / mixture_variance
            * (ln((sampling_variance + mixture_variance) / sampling_variance) - 2 * ln(alpha))
        ) as sequential_half_width
    from compared

),

final as (

    select
        bandit_id || ':' || arm as bandit_arm_key,
        bandit_id,
        arm,
        template_id,
        closed_units,
        eligible_units,
        arm_units,
        cast(arm_rewards as {{ dbt.type_bigint() }}) as arm_rewards,
        naive_rate,
        ipw_rate,
        ipw_se,
        cast(holdout_units as {{ dbt.type_bigint() }}) as holdout_units,
        holdout_rate,
        cast(holdout_arm_units as {{ dbt.type_bigint() }}) as holdout_arm_units,
        holdout_arm_rate,
        lift_vs_holdout,
        sqrt(sampling_variance) as lift_standard_error,
        sqrt(mixture_variance) as sequential_tau,
        lift_vs_holdout - sequential_half_width as sequential_ci_low,
        lift_vs_holdout + sequential_half_width as sequential_ci_high,
        case
            when inverse_likelihood_ratio < 1.0 then inverse_likelihood_ratio
            when inverse_likelihood_ratio >= 1.0 then 1.0
        end as sequential_p_value,
        alpha
    from sequential

)

select * from final
