{#- One row: the last day the event data covers. Windows that end after it are incomplete. -#}
with

events as (

    select occurred_at from {{ ref('int_events_attributed') }}

),

final as (

    select
        max(occurred_at) as data_end_at,
        cast(max(occurred_at) as date) as data_end_date
    from events

)

select * from final
