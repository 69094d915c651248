{#- The automation holdout's unit-level outcomes (intent to treat), the counterpart of
    fct_experiment_unit_metrics: one row per registered holdout, enabled rule and account
    first decided under the rule on or after the holdout's registration (held-out accounts
    are decided for too; their actions are suppressed). The unit's "exposure" is that first
    decision; its variant is `automated` or `holdout` (fct_automation_holdout_assignments);
    its metric is the rule's outcome: the rule's `outcome_input` `outcome_window_days` after
    the decision compared with the decision day (`up`: larger; `to_zero`: positive, then
    zero), 1 or 0, observable once the window is over and both days have a feature row.
    fct_automation_lift aggregates it; `lawn readout <holdout>` recomputes from it. -#}
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
    where is_enabled

),

assignments as (

    select * from {{ ref('fct_automation_holdout_assignments') }}

),

data_end as (

    select data_day as last_feature_date from {{ ref('int_data_day') }}

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
        assignments.holdout_id,
        first_decisions.rule_id,
        first_decisions.account_id,
        assignments.is_held_out,
        first_decisions.decided_on,
        rules.outcome_name,
        rules.outcome_input,
        rules.outcome_direction,
        cast(
            {{ dbt.dateadd('day', 'rules.outcome_window_days', 'first_decisions.decided_on') }}
            as date
        ) as outcome_date
    from first_decisions
    inner join rules on first_decisions.rule_id = rules.rule_id
    inner join assignments on first_decisions.account_id = assignments.account_id
    where first_decisions.decided_on >= cast(assignments.registered_at as date)

),

valued as (

    select
        units.*,
        at_decision.account_id is not null
        and at_outcome.account_id is not null
        and units.outcome_date <= data_end.last_feature_date as is_observable,
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
    cross join data_end
    left join features as at_decision
        on
            units.account_id = at_decision.account_id
            and units.decided_on = at_decision.feature_date
    left join features as at_outcome
        on
            units.account_id = at_outcome.account_id
            and units.outcome_date = at_outcome.feature_date

),

final as (

    select
        holdout_id || ':' || rule_id || ':' || account_id as unit_outcome_key,
        holdout_id as experiment_id,
        rule_id,
        'account' as unit_type,
        account_id as unit_id,
        case when is_held_out then 'holdout' else 'automated' end as variant,
        decided_on,
        outcome_date,
        outcome_name as metric_name,
        'proportion' as metric_type,
        value_at_decision,
        value_at_outcome,
        case
            when not is_observable then cast(null as {{ type_double() }})
            when outcome_direction = 'up' and value_at_outcome > value_at_decision then 1.0
            when
                outcome_direction = 'to_zero' and value_at_decision > 0 and value_at_outcome = 0
                then 1.0
            else 0.0
        end as metric_value,
        is_observable
    from valued

)

select * from final
