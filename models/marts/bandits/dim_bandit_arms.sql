{#- The bandit registry as the nightly reads it: one row per registered bandit and arm, with
    the bandit's configuration (seeds/bandits: the rule whose actions it varies, the reward
    moment and window, Beta priors, exploration floor, holdout share, context, draws). -#}
with

registry as (

    select * from {{ ref('bandit_registry') }}

),

arms as (

    select * from {{ ref('bandit_arms') }}

),

final as (

    select
        registry.bandit_id || ':' || arms.arm as bandit_arm_key,
        registry.bandit_id,
        arms.arm,
        arms.template_id,
        arms.description as arm_description,
        registry.rule_id,
        registry.reward_moment,
        registry.reward_window_days,
        cast(registry.prior_alpha as {{ type_double() }}) as prior_alpha,
        cast(registry.prior_beta as {{ type_double() }}) as prior_beta,
        cast(registry.exploration_floor as {{ type_double() }}) as exploration_floor,
        cast(registry.holdout_share as {{ type_double() }}) as holdout_share,
        registry.context_column,
        registry.draws,
        cast(registry.alpha as {{ type_double() }}) as alpha,
        registry.is_enabled,
        registry.owner
    from registry
    inner join arms on registry.bandit_id = arms.bandit_id

)

select * from final
