{#- Built after each export: `lawn nightly` selects what is downstream of the landing tables
    a step wrote (source:ops.action_exports+ after the actions step; lawn/landing.py).
    The hand-off ledger: one row per record a run exported (an action the first time it went
    out, a reversal in the first export after it was reverted), as it was sent (rule,
    pseudonymous account key, model version, decision day, the readable reason: the ledger
    keeps its own copy, since
    a later model or rule change may re-decide history without it), and for actions the hours
    from the insight (the end of the decision day, when its data was complete) to the hand-off. -#}
with

exports as (

    select * from {{ ref('stg_ops__action_exports') }}

),

final as (

    select
        action_export_key,
        run_id,
        action_id,
        record_type,
        rule_id,
        account_key,
        model_version,
        bandit_id,
        bandit_arm,
        bandit_template_id,
        decided_on,
        reason,
        cast({{ dbt.dateadd('day', 1, 'decided_on') }} as {{ dbt.type_timestamp() }}) as insight_at,
        exported_at,
        export_path,
        case
            when record_type = 'action'
                then cast(
                    {{ dbt.datediff(
                        'cast(' ~ dbt.dateadd('day', 1, 'decided_on') ~ ' as ' ~ dbt.type_timestamp() ~ ')',
                        'exported_at',
                        'minute',
                    ) }}
                        as {{ type_double() }}
                    ) / 60
        end as hours_to_action
    from exports

)

select * from final
