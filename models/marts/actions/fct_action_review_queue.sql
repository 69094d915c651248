{#- The human review queue: actions held for review (low confidence or high value) that no
    reviewer has decided yet, and that are neither suppressed nor reverted. -#}
with

actions as (

    select * from {{ ref('fct_next_best_actions') }}

),

final as (

    select
        action_id,
        rule_id,
        account_id,
        decided_on,
        review_reason,
        churn_probability,
        model_version,
        reason,
        trigger_inputs
    from actions
    where
        needs_review
        and review_decision is null
        and not is_suppressed
        and not is_reverted

)

select * from final
