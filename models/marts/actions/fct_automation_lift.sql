{#- The incremental lift of automation, per rule, against the registered automation holdout
    (intent to treat). Units: an account's first decision under the rule on or after the
    holdout's registration (held-out accounts are decided for too; their actions are
    suppressed). Outcome: the rule's `outcome_input` `outcome_window_days` after the decision
    compared with the decision day (`up`: larger; `to_zero`: positive, then zero), counted
    only once the window is over. Lift = automated rate - holdout rate with an unpooled Wald
    95% interval and a two-sided z-test (and Benjamini-Hochberg across the holdout's rules:
    several rules are read at once); the sample-ratio check compares the holdout's share
    of all decided units with the registered share (chi-square, 1 df). -#}
{%- set outcome_inputs = ['mrr_usd', 'milestones_reached', 'active_users_7d', 'feature_uses_7d'] -%}
with

actions as (

    select * from {{ ref('fct_next_best_actions') }}

),

features as (

    select * from {{ ref('fct_account_features_daily') }}

),

rules as (

    select * from {{ ref('action_rules') }}

),

holdouts as (

    select * from {{ ref('automation_holdouts') }}

),

assignments as (

    select * from {{ ref('fct_automation_holdout_assignments') }}

),

as_of as (

    select data_day from {{ ref('int_data_day') }}

),

first_decisions as (

    select
        rule_id,
        account_id,
        min(decided_on) as decided_on
    from actions
    group by rule_id, account_id

),

units as (

    select
        first_decisions.rule_id,
        first_decisions.account_id,
        first_decisions.decided_on,
        assignments.holdout_id,
        assignments.is_held_out,
        rules.outcome_name,
        rules.outcome_input,
        rules.outcome_direction,
        rules.outcome_window_days,
        cast(
            {{ dbt.dateadd('day', 'rules.outcome_window_days', 'first_decisions.decided_on') }}
            as date
        ) as outcome_date
    from first_decisions
    inner join rules on first_decisions.rule_id = rules.rule_id
    inner join assignments on first_decisions.account_id = assignments.account_id
    where first_decisions.decided_on >= cast(assignments.registered_at as date)

),

observed as (

    select
        units.rule_id,
        units.holdout_id,
        units.is_held_out,
        units.outcome_direction,
        case units.outcome_input
            {%- for column in outcome_inputs %}
                when '{{ column }}' then cast(at_decision.{{ column }} as {{ type_double() }})
            {%- endfor %}
        end as value_at_decision,
        case units.outcome_input
            {%- for column in outcome_inputs %}
                when '{{ column }}' then cast(at_outcome.{{ column }} as {{ type_double() }})
            {%- endfor %}
        end as value_at_outcome
    from units
    inner join as_of on units.outcome_date <= as_of.data_day
    inner join features as at_decision
        on
            units.account_id = at_decision.account_id
            and units.decided_on = at_decision.feature_date
    inner join features as at_outcome
        on
            units.account_id = at_outcome.account_id
            and units.outcome_date = at_outcome.feature_date

),

outcomes as (

    select
        rule_id,
        holdout_id,
        is_held_out,
        case
            when outcome_direction = 'up' then value_at_outcome > value_at_decision
            when outcome_direction = 'to_zero'
                then value_at_decision > 0 and value_at_outcome = 0
        end as has_outcome
    from observed

),

decided_counts as (

    select
        rule_id,
        holdout_id,
        count(case when not is_held_out then 1 end) as automated_units,
        count(case when is_held_out then 1 end) as holdout_units
    from units
    group by rule_id, holdout_id

),

outcome_counts as (

    select
        rule_id,
        holdout_id,
        count(case when not is_held_out then 1 end) as automated_observed,
        count(case when not is_held_out and has_outcome then 1 end) as automated_outcomes,
        count(case when is_held_out then 1 end) as holdout_observed,
        count(case when is_held_out and has_outcome then 1 end) as holdout_outcomes
    from outcomes
    group by rule_id, holdout_id

),

action_counts as (

    select
        rule_id,
        count(*) as actions_decided,
        count(case when is_suppressed then 1 end) as actions_suppressed
    from actions
    group by rule_id

),

rates as (

    select
        rules.rule_id,
        holdouts.holdout_id,
        holdouts.holdout_share,
        rules.outcome_name,
        rules.outcome_window_days,
        rules.is_outcome_higher_better,
        coalesce(action_counts.actions_decided, 0) as actions_decided,
        coalesce(action_counts.actions_suppressed, 0) as actions_suppressed,
        coalesce(decided_counts.automated_units, 0) as automated_units,
        coalesce(decided_counts.holdout_units, 0) as holdout_units,
        coalesce(outcome_counts.automated_observed, 0) as automated_observed,
        coalesce(outcome_counts.automated_outcomes, 0) as automated_outcomes,
        coalesce(outcome_counts.holdout_observed, 0) as holdout_observed,
        coalesce(outcome_counts.holdout_outcomes, 0) as holdout_outcomes,
        cast(outcome_counts.automated_outcomes as {{ type_double() }})
        / nullif(outcome_counts.automated_observed, 0) as automated_rate,
        cast(outcome_counts.holdout_outcomes as {{ type_double() }})
        / nullif(outcome_counts.holdout_observed, 0) as holdout_rate
    from rules
    cross join holdouts
    left join action_counts on rules.rule_id = action_counts.rule_id
    left join decided_counts
        on
            rules.rule_id = decided_counts.rule_id
            and holdouts.holdout_id = decided_counts.holdout_id
    left join outcome_counts
        on
            rules.rule_id = outcome_counts.rule_id
            and holdouts.holdout_id = outcome_counts.holdout_id
    where rules.is_enabled

),

errors as (

    select
        rates.*,
        rates.automated_rate - rates.holdout_rate as lift,
        {{ two_proportion_standard_error(
            'rates.automated_outcomes', 'rates.automated_observed',
            'rates.holdout_outcomes', 'rates.holdout_observed',
            pooled=false
        ) }} as lift_standard_error,
        cast(rates.automated_units + rates.holdout_units as {{ type_double() }}) as decided_units,
        cast(rates.holdout_units as {{ type_double() }}) as holdout_units_double
    from rates

),

tests as (

    select
        errors.*,
        {{ two_proportion_z_statistic(
            'errors.automated_outcomes', 'errors.automated_observed',
            'errors.holdout_outcomes', 'errors.holdout_observed',
            pooled=false
        ) }} as z_statistic,
        {{ chi_square_term(
            'errors.holdout_units_double', 'errors.decided_units * errors.holdout_share'
        ) }}
        + {{ chi_square_term(
            'errors.decided_units - errors.holdout_units_double',
            'errors.decided_units * (1 - errors.holdout_share)'
        ) }} as srm_chi_square
    from errors

),

tested as (

    select
        tests.*,
        {{ two_sided_normal_p_value('tests.z_statistic') }} as p_value
    from tests

),

adjusted as (

    {{ benjamini_hochberg('tested', 'p_value', ['holdout_id'], 'rule_id') }}

),

final as (

    select
        rule_id || ':' || holdout_id as automation_lift_key,
        rule_id,
        holdout_id,
        outcome_name,
        outcome_window_days,
        is_outcome_higher_better,
        actions_decided,
        actions_suppressed,
        cast(actions_suppressed as {{ type_double() }}) / nullif(actions_decided, 0)
            as suppressed_share,
        automated_units,
        holdout_units,
        automated_observed,
        automated_outcomes,
        holdout_observed,
        holdout_outcomes,
        automated_rate,
        holdout_rate,
        lift,
        lift / nullif(holdout_rate, 0) as relative_lift,
        lift_standard_error,
        {{ wald_interval_bound('lift', 'nullif(lift_standard_error, 0)', 'lower') }}
            as lift_ci_lower,
        {{ wald_interval_bound('lift', 'nullif(lift_standard_error, 0)', 'upper') }}
            as lift_ci_upper,
        z_statistic,
        p_value,
        p_value_bh,
        holdout_share as expected_holdout_share,
        holdout_units_double / nullif(decided_units, 0) as observed_holdout_share,
        {{ chi_square_p_value('srm_chi_square', 1) }} as srm_p_value
    from adjusted

)

select * from final
