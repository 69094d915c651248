{#- The uplift models' examples: one row per registered uplift model and account randomised
    in its experiment (fct_experiment_assignments, included units of the model's treatment or
    control variant), with the account's features on the day before its first exposure (so
    nothing the action caused is a feature) taken from fct_churn_training_examples, and that
    day's `churned_30d` label as the outcome: the one churn definition, whose window covers
    the exposure and the 30 days after it. Accounts that were not paying on that day have no
    churn example and are left out. `lawn uplift train` reads this mart only. -#}
{%- set features = [
    'account_age_days', 'feature_uses_7d', 'usage_trend_7d', 'usage_vs_baseline_7d', 'active_users_7d',
    'active_users_28d', 'milestones_reached', 'support_tickets_28d', 'latest_nps_score',
    'mrr_usd', 'mrr_change_30d', 'email_open_rate_28d', 'api_errors_7d',
] -%}
with

models as (

    select * from {{ ref('uplift_models') }}

),

assignments as (

    select * from {{ ref('fct_experiment_assignments') }}
    where is_included

),

examples as (

    select * from {{ ref('fct_churn_training_examples') }}

),

exposed as (

    select
        models.uplift_model_id,
        models.experiment_id,
        models.benefit_sign,
        assignments.account_id,
        assignments.variant,
        assignments.variant = models.treatment_variant as is_treated,
        cast(assignments.first_exposed_at as date) as exposed_date
    from assignments
    inner join models on assignments.experiment_id = models.experiment_id
    where
        assignments.unit_type = 'account'
        and assignments.variant in (models.treatment_variant, models.control_variant)

),

final as (

    select
        exposed.uplift_model_id || ':' || exposed.account_id as uplift_example_key,
        exposed.uplift_model_id,
        exposed.experiment_id,
        exposed.benefit_sign,
        exposed.account_id,
        exposed.variant,
        exposed.is_treated,
        exposed.exposed_date,
        examples.feature_date,
        examples.segment,
        {%- for column in features %}
            examples.{{ column }},
        {%- endfor %}
        examples.is_label_known,
        examples.churned_30d as outcome
    from exposed
    inner join examples
        on
            exposed.account_id = examples.account_id
            and examples.feature_date
            = cast({{ dbt.dateadd('day', -1, 'exposed.exposed_date') }} as date)

)

select * from final
