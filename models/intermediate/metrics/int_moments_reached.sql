{{ config(materialized='table') }}
{#- The first time each account and each person reached each moment of the metric_moments
    configuration (event name, optionally one property equal to a value, or numerically
    greater than it: `plan_changed` with `mrr_usd > 0` is a payment, a $0 trial is not).
    A table, not a view: about ten marts read it (directly or through
    int_activation_milestones), and as a view each of them rescanned every event with its
    identity joins and JSON (docs/incremental_identity.md). -#}
with

events as (

    select
        event_id,
        event_name,
        occurred_at,
        received_at,
        person_id,
        account_id,
        platform,
        properties
    from {{ ref('int_events_attributed') }}

),

moments as (

    select * from {{ ref('metric_moments') }}

),

matched as (

    select
        moments.moment_name,
        moments.entity_type,
        case
            when moments.entity_type = 'account' then events.account_id
            else events.person_id
        end as entity_id,
        events.account_id,
        events.event_id,
        events.occurred_at,
        events.received_at,
        events.platform
    from events
    inner join moments
        on
            events.event_name = moments.event_name
            and (
                moments.property_name is null
                or (
                    coalesce(moments.property_operator, '=') = '='
                    and {{ json_extract_scalar('events.properties', 'moments.property_name') }}
                    = moments.property_value
                )
                or (
                    moments.property_operator = '>'
                    and {{ try_cast(
                        json_extract_scalar('events.properties', 'moments.property_name'),
                        type_double()
                    ) }}
                    > {{ try_cast('moments.property_value', type_double()) }}
                )
            )

),

ranked as (

    select
        matched.*,
        row_number() over (
            partition by matched.entity_type, matched.entity_id, matched.moment_name
            order by matched.occurred_at, matched.event_id
        ) as reach_number,
        min(matched.received_at) over (
            partition by matched.entity_type, matched.entity_id, matched.moment_name
        ) as first_received_at
    from matched
    where matched.entity_id is not null

),

final as (

    select
        entity_type || ':' || entity_id || ':' || moment_name as moment_reached_key,
        entity_type,
        entity_id,
        moment_name,
        account_id,
        occurred_at as reached_at,
        cast(occurred_at as date) as reached_date,
        platform as reached_platform,
        event_id as reached_event_id,
        first_received_at
    from ranked
    where reach_number = 1

)

select * from final
