{#- Next-best actions: one row per rule firing for an account on a day. The rules and their
    conditions are configuration (seeds/actions). A rule fires on day D when all of its
    conditions hold on D (inputs: the point-in-time features of D, the driving churn score
    of D and, for a rule an uplift model drives, that model's driving uplift score of D) and it did not hold on any of the `cooldown_days` days before, so an account gets
    the action when it enters the state, not every day it stays there. Accounts in a
    registered automation holdout keep their rows (the lift readout needs them) but are
    suppressed: never exported. Reversals (`lawn actions revert`) mark rows, nothing is
    deleted. The action id is a hash of rule, account and day, so every rebuild gives the
    same ids. Every action carries a readable `reason` (for model-driven rules: the churn
    score and its top contributing features). An action of a rule with review thresholds
    (`review_below_confidence`: churn probability below it; `review_above_mrr_usd`: MRR at
    stake above it) `needs_review`: the export holds it until seeds/actions/
    action_review_decisions.csv approves it (a rejected one is never sent). -#}
{%- set feature_inputs = [
    'account_age_days', 'feature_uses_7d', 'usage_trend_7d', 'usage_vs_baseline_7d', 'active_users_7d',
    'active_users_28d', 'milestones_reached', 'support_tickets_28d', 'latest_nps_score',
    'mrr_usd', 'mrr_change_30d', 'email_open_rate_28d', 'api_errors_7d',
] -%}
{%- set all_inputs = feature_inputs + ['churn_probability'] -%}
{#- the value a condition reads: its input column of `inputs`, or the uplift score -#}
{%- set input_cases = [] -%}
{%- for column in all_inputs -%}
    {%- do input_cases.append("when '" ~ column ~ "' then inputs." ~ column) -%}
{%- endfor -%}
{%- set input_value = 'case conditions.input_name ' ~ input_cases | join(' ')
    ~ " when 'uplift' then uplift_scores.uplift end" -%}
with

features as (

    select * from {{ ref('fct_account_features_daily') }}

),

scores as (

    select * from {{ ref('fct_churn_scores') }}
    where is_driving

),

rules as (

    select * from {{ ref('action_rules') }}
    where is_enabled

),

conditions as (

    select * from {{ ref('action_rule_conditions') }}

),

accounts as (

    select * from {{ ref('dim_accounts') }}

),

holdout_assignments as (

    select * from {{ ref('fct_automation_holdout_assignments') }}

),

reversals as (

    select * from {{ ref('stg_ops__action_reversals') }}

),

review_decisions as (

    select * from {{ ref('action_review_decisions') }}

),

uplift_scores as (

    select * from {{ ref('fct_uplift_scores') }}
    where is_driving

),

inputs as (

    select
        features.account_id,
        features.feature_date,
        {%- for column in feature_inputs %}
            cast(features.{{ column }} as {{ type_double() }}) as {{ column }},
        {%- endfor %}
        scores.churn_probability,
        scores.model_version,
        scores.top_contributions
    from features
    left join scores
        on
            features.account_id = scores.account_id
            and features.feature_date = scores.feature_date

),

checked as (

    select
        conditions.rule_id,
        inputs.account_id,
        inputs.feature_date,
        conditions.input_name,
        conditions.comparator,
        conditions.threshold,
        {{ input_value }} as input_value
    from conditions
    inner join rules on conditions.rule_id = rules.rule_id
    cross join inputs
    left join uplift_scores
        on
            conditions.input_name = 'uplift'
            and conditions.rule_id = uplift_scores.rule_id
            and inputs.account_id = uplift_scores.account_id
            and inputs.feature_date = uplift_scores.feature_date

),

judged as (

    select
        checked.*,
        coalesce(case checked.comparator
            when '>=' then checked.input_value >= checked.threshold
            when '>' then checked.input_value > checked.threshold
            when '<=' then checked.input_value <= checked.threshold
            when '<' then checked.input_value < checked.threshold
            when '=' then checked.input_value = checked.threshold
        end, false) as is_met
    from checked

),

-- the conditions a rule x account x day row was judged on: one row per condition of the
-- rule, an uplift condition once per driving uplift score of the day (the left join in
-- `checked`; once when there is none)
rule_condition_counts as (

    select
        conditions.rule_id,
        sum(case when conditions.input_name = 'uplift' then 0 else 1 end) as plain_count,
        sum(case when conditions.input_name = 'uplift' then 1 else 0 end) as uplift_count
    from conditions
    inner join rules on conditions.rule_id = rules.rule_id
    group by conditions.rule_id

),

uplift_rows as (

    select
        rule_id,
        account_id,
        feature_date,
        count(*) as score_count
    from uplift_scores
    group by rule_id, account_id, feature_date

),

-- only the met conditions are grouped (most rule x account x day rows meet few or none):
-- a row holds when all the conditions it was judged on are met
met as (

    select
        rule_id,
        account_id,
        feature_date,
        count(*) as met_count
    from judged
    where is_met
    group by rule_id, account_id, feature_date

),

evaluated as (

    select
        met.rule_id,
        met.account_id,
        met.feature_date,
        rule_condition_counts.plain_count
        + rule_condition_counts.uplift_count * coalesce(uplift_rows.score_count, 1)
            as condition_count,
        met.met_count
    from met
    inner join rule_condition_counts on met.rule_id = rule_condition_counts.rule_id
    left join uplift_rows
        on
            met.rule_id = uplift_rows.rule_id
            and met.account_id = uplift_rows.account_id
            and met.feature_date = uplift_rows.feature_date

),

holding as (

    select
        rule_id,
        account_id,
        feature_date,
        lag(feature_date) over (
            partition by rule_id, account_id order by feature_date
        ) as previous_holding_date
    from evaluated
    where met_count = condition_count

),

fired as (

    select
        holding.rule_id,
        holding.account_id,
        holding.feature_date as decided_on
    from holding
    inner join rules on holding.rule_id = rules.rule_id
    where
        holding.previous_holding_date is null
        or {{ dbt.datediff('holding.previous_holding_date', 'holding.feature_date', 'day') }}
        > rules.cooldown_days

),

fired_inputs as (

    -- the inputs of the rules that fired, evaluated again for those rows only (a second read
    -- of `judged` would keep every rule x account x day row in memory); one row per input,
    -- as a rule may hold two conditions on one input (a range)
    select distinct
        fired.rule_id,
        fired.account_id,
        fired.decided_on,
        conditions.input_name,
        {{ input_value }} as input_value
    from fired
    inner join conditions on fired.rule_id = conditions.rule_id
    inner join inputs
        on
            fired.account_id = inputs.account_id
            and fired.decided_on = inputs.feature_date
    left join uplift_scores
        on
            conditions.input_name = 'uplift'
            and conditions.rule_id = uplift_scores.rule_id
            and inputs.account_id = uplift_scores.account_id
            and inputs.feature_date = uplift_scores.feature_date

),

trigger_inputs as (

    select
        fired_inputs.rule_id,
        fired_inputs.account_id,
        fired_inputs.decided_on,
        {{ ordered_text_list(
            "fired_inputs.input_name || '=' || coalesce("
            ~ number_to_text('fired_inputs.input_value', 4) ~ ", 'null')",
            "'; '",
            ['fired_inputs.input_name'],
        ) }} as trigger_inputs,
        max(case when fired_inputs.input_name = 'churn_probability' then 1 else 0 end)
            as uses_churn_model
    from fired_inputs
    group by
        fired_inputs.rule_id,
        fired_inputs.account_id,
        fired_inputs.decided_on

),

held_out as (

    select
        account_id,
        min(holdout_id) as holdout_id,
        cast(min(registered_at) as date) as registered_date
    from holdout_assignments
    where is_held_out
    group by account_id

),

identified as (

    select
        'act_' || substr(
            {{ sha256_hex(
                "fired.rule_id || ':' || fired.account_id || ':' || cast(fired.decided_on as "
                ~ dbt.type_string() ~ ")"
            ) }}, 1, 16
        ) as action_id,
        fired.rule_id,
        rules.action_type,
        rules.destination,
        rules.playbook,
        fired.account_id,
        fired.decided_on,
        trigger_inputs.trigger_inputs,
        case when trigger_inputs.uses_churn_model = 1 then inputs.churn_probability end
            as churn_probability,
        case when trigger_inputs.uses_churn_model = 1 then inputs.model_version end
            as model_version,
        case
            when trigger_inputs.uses_churn_model = 1
                then 'churn risk '
                    || {{ number_to_text('inputs.churn_probability', 3) }}
                    || ' (model ' || inputs.model_version || '); top drivers (logit): '
                    || coalesce(inputs.top_contributions, 'not stored')
            else fired.rule_id || ': ' || trigger_inputs.trigger_inputs
        end as reason,
        coalesce(
            trigger_inputs.uses_churn_model = 1
            and inputs.churn_probability < rules.review_below_confidence,
            false
        ) as is_low_confidence,
        coalesce(inputs.mrr_usd > rules.review_above_mrr_usd, false) as is_high_value
    from fired
    inner join rules on fired.rule_id = rules.rule_id
    inner join trigger_inputs
        on
            fired.rule_id = trigger_inputs.rule_id
            and fired.account_id = trigger_inputs.account_id
            and fired.decided_on = trigger_inputs.decided_on
    inner join inputs
        on
            fired.account_id = inputs.account_id
            and fired.decided_on = inputs.feature_date

),

final as (

    select
        identified.action_id,
        identified.rule_id,
        identified.action_type,
        identified.destination,
        identified.playbook,
        identified.account_id,
        {{ keyed_hash('identified.account_id') }} as account_key,
        case when identified.destination = 'crm' then accounts.sales_owner end as assignee,
        identified.decided_on,
        cast({{ dbt.dateadd('day', 1, 'identified.decided_on') }} as {{ dbt.type_timestamp() }})
            as insight_at,
        identified.trigger_inputs,
        identified.churn_probability,
        identified.model_version,
        identified.reason,
        identified.is_low_confidence or identified.is_high_value as needs_review,
        case
            when identified.is_low_confidence and identified.is_high_value
                then 'low_confidence; high_value'
            when identified.is_low_confidence then 'low_confidence'
            when identified.is_high_value then 'high_value'
        end as review_reason,
        case
            when identified.is_low_confidence or identified.is_high_value
                then review_decisions.decision
        end as review_decision,
        case
            when identified.is_low_confidence or identified.is_high_value
                then review_decisions.reviewer
        end as reviewed_by,
        held_out.holdout_id,
        coalesce(identified.decided_on >= held_out.registered_date, false) as is_suppressed,
        case
            when identified.decided_on >= held_out.registered_date then 'automation_holdout'
        end as suppression_reason,
        reversals.action_id is not null as is_reverted,
        reversals.reverted_at,
        reversals.reverted_by,
        reversals.reason as reversal_reason
    from identified
    left join accounts on identified.account_id = accounts.account_id
    left join held_out on identified.account_id = held_out.account_id
    left join reversals on identified.action_id = reversals.action_id
    left join review_decisions on identified.action_id = review_decisions.action_id

)

select * from final
