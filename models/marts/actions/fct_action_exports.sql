{{ config(materialized='view') }}
{#- A view, so it always shows the ledger as it is (the export writes it after the build).
    The hand-off ledger: one row per record a run exported (an action the first time it went
    out, a reversal in the first export after it was reverted), with the action's rule,
    pseudonymous account key and decision day, and for actions the hours from the insight
    (the end of the decision day, when its data was complete) to the hand-off. -#}
with

exports as (

    select * from {{ ref('stg_ops__action_exports') }}

),

actions as (

    select * from {{ ref('fct_next_best_actions') }}

),

final as (

    select
        exports.action_export_key,
        exports.run_id,
        exports.action_id,
        exports.record_type,
        actions.rule_id,
        actions.account_key,
        actions.decided_on,
        actions.insight_at,
        exports.exported_at,
        exports.export_path,
        case
            when exports.record_type = 'action'
                then cast(
                        {{ dbt.datediff('actions.insight_at', 'exports.exported_at', 'minute') }}
                        as {{ type_double() }}
                    ) / 60
        end as hours_to_action
    from exports
    left join actions on exports.action_id = actions.action_id

)

select * from final
