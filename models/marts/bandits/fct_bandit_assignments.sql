{#- Built after the nightly's bandit step (lineage from ml.bandit_assignments, lawn/landing.py).
    The published face of the bandit's decisions: one row per action whose variant a bandit
    chose, with the arm, what the arm means (its template), whether the unit was in the
    uniform holdout and the arm's propensity. The export (lawn/actions.py) reads the arm
    from here. -#}
with

assignments as (

    select * from {{ ref('stg_ml__bandit_assignments') }}

),

registry as (

    select * from {{ ref('bandit_registry') }}

),

arms as (

    select * from {{ ref('bandit_arms') }}

),

final as (

    select
        assignments.bandit_assignment_key,
        assignments.bandit_id,
        registry.rule_id,
        assignments.action_id,
        assignments.account_id,
        assignments.decision_day,
        assignments.context,
        assignments.arm,
        arms.template_id,
        assignments.is_holdout,
        assignments.propensity,
        assignments.assigned_at
    from assignments
    inner join registry on assignments.bandit_id = registry.bandit_id
    inner join arms
        on
            assignments.bandit_id = arms.bandit_id
            and assignments.arm = arms.arm

)

select * from final
