{#- One row per first delivery and per property its tracking-plan version declares:
    the value as text and typed, and the first rule it breaks (null when it passes).
    Rule order: missing > wrong type > not allowed > out of range > pattern. -#}
with

first_deliveries as (

    select
        raw_event_key,
        received_at,
        event_name,
        schema_version,
        properties_raw
    from {{ ref('int_events_deduplicated') }}
    where delivery_number = 1 and is_properties_valid_json

),

plan_properties as (

    select * from {{ ref('stg_tracking_plan__properties') }}

),

extracted as (

    select
        first_deliveries.raw_event_key,
        first_deliveries.received_at,
        plan_properties.tracking_plan_key,
        plan_properties.property_name,
        plan_properties.data_type,
        plan_properties.is_required,
        plan_properties.allowed_values,
        plan_properties.min_value,
        plan_properties.max_value,
        plan_properties.pattern,
        plan_properties.pii_class,
        {{ json_value_type(
            'first_deliveries.properties_raw', 'plan_properties.property_name'
        ) }} as json_type,
        {{ json_extract_scalar(
            'first_deliveries.properties_raw', 'plan_properties.property_name'
        ) }} as value_text
    from first_deliveries
    inner join plan_properties
        on
            first_deliveries.event_name = plan_properties.event_name
            and first_deliveries.schema_version = plan_properties.schema_version

),

typed as (

    select
        extracted.*,
        coalesce(extracted.json_type, 'null') != 'null' as is_present,
        case extracted.data_type
            when 'string' then extracted.json_type = 'string'
            -- JSON Schema's integer: 5, 5.0 and 5e0 are one, 5.5 is none (the value
            -- decides; integer_property_value reads it downstream)
            when 'integer' then {{ integer_property_check(
                'extracted.json_type', 'extracted.value_text'
            ) }}
            when 'number' then extracted.json_type in ('integer', 'number')
            when 'boolean' then extracted.json_type = 'boolean'
            else false
        end as is_type_ok,
        case
            when extracted.json_type in ('integer', 'number')
                then {{ try_cast('extracted.value_text', type_double()) }}
        end as value_number,
        case
            when extracted.json_type = 'boolean'
                then extracted.value_text = 'true'
        end as value_boolean
    from extracted

),

checked as (

    select
        typed.*,
        case
            when not typed.is_present and typed.is_required
                then 'MISSING_REQUIRED_PROPERTY'
            when not typed.is_present then null
            when not typed.is_type_ok then 'WRONG_TYPE'
            -- an allowed value is one entry of the '|'-separated list: a value holding '|'
            -- is none of them, even where it spans neighbouring entries ('a|b' in 'a|b|c')
            when
                typed.allowed_values is not null
                and (
                    {{ dbt.position("'|'", 'typed.value_text') }} > 0
                    or {{ dbt.position(
                        "'|' || typed.value_text || '|'",
                        "'|' || typed.allowed_values || '|'"
                    ) }} = 0
                )
                then 'VALUE_NOT_ALLOWED'
            -- a JSON number beyond a double's range (1e400) reads as no number
            -- (try_cast): it is outside any range the plan sets, not within it
            when
                typed.value_number < typed.min_value
                or typed.value_number > typed.max_value
                or (
                    typed.value_number is null
                    and (typed.min_value is not null or typed.max_value is not null)
                )
                then 'OUT_OF_RANGE'
            when
                typed.pattern is not null
                and not {{ regexp_like_known_patterns(
                    'typed.value_text', 'typed.pattern', ref('stg_tracking_plan__properties')
                ) }}
                then 'PATTERN_MISMATCH'
        end as failed_reason_code
    from typed

)

select * from checked
