-- depends_on: {{ ref('tracking_plan_properties') }}
with

plan_properties as (

    select * from {{ source('tracking_plan', 'tracking_plan_properties') }}

),

final as (

    select
        event_name || '@v' || cast(schema_version as {{ dbt.type_string() }})
            as tracking_plan_key,
        event_name,
        schema_version,
        property_name,
        lower(data_type) as data_type,
        coalesce(is_required, false) as is_required,
        nullif(allowed_values, '') as allowed_values,
        min_value,
        max_value,
        nullif(pattern, '') as pattern,
        pii_class,
        owner,
        purpose
    from plan_properties

)

select * from final
