-- The hand-off ledger is consistent: a reversal goes out only for an action that went out
-- before it, each action goes out once and is reversed at most once.
with

exports as (

    select * from {{ ref('fct_action_exports') }}

),

actions as (

    select
        action_id,
        min(exported_at) as first_exported_at,
        count(*) as times_sent
    from exports
    where record_type = 'action'
    group by action_id

),

reversals as (

    select
        action_id,
        min(exported_at) as first_reversed_at,
        count(*) as times_reversed
    from exports
    where record_type = 'reversal'
    group by action_id

),

problems as (

    select
        coalesce(actions.action_id, reversals.action_id) as action_id,
        case
            when actions.action_id is null then 'reversal of an action never sent'
            when actions.times_sent > 1 then 'action sent more than once'
            when reversals.times_reversed > 1 then 'reversal sent more than once'
            when reversals.first_reversed_at < actions.first_exported_at
                then 'reversal sent before the action'
        end as problem
    from actions
    full outer join reversals on actions.action_id = reversals.action_id

)

select * from problems
where problem is not null
