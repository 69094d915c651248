-- depends_on: {{ ref('tracking_plan_events') }}
with

plan_events as (

    select * from {{ source('tracking_plan', 'tracking_plan_events') }}

),

final as (

    select
        event_name || '@v' || cast(schema_version as {{ dbt.type_string() }})
            as tracking_plan_key,
        event_name,
        schema_version,
        category as event_category,
        lower(status) as version_status,
        lower(status) = 'live' as is_live,
        released_on as released_date,
        owner,
        description
    from plan_events

)

select * from final
