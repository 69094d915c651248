{#- The entities each SLO of seeds/metrics/slo_definitions.csv measures: rows of
    int_activation_milestones for the SLO's milestone (and dimension filter) whose window
    is complete, with whether the milestone was reached in window. -#}
with

slos as (

    select * from {{ ref('slo_definitions') }}

),

milestones as (

    select * from {{ ref('int_activation_milestones') }}
    where is_window_complete

),

final as (

    select
        slos.slo_id || ':' || milestones.entity_id as slo_unit_key,
        slos.slo_id,
        milestones.entity_type,
        milestones.entity_id,
        milestones.anchor_date,
        milestones.segment,
        milestones.platform,
        milestones.acquisition_channel,
        milestones.plan,
        cast(case when milestones.is_reached_in_window then 1 else 0 end as {{ dbt.type_bigint() }})
            as reached_units
    from slos
    inner join milestones
        on
            slos.entity_type = milestones.entity_type
            and slos.milestone_name = milestones.milestone_name
            and case slos.dimension_name
                when 'segment' then milestones.segment
                when 'platform' then milestones.platform
                when 'acquisition_channel' then milestones.acquisition_channel
                when 'plan' then milestones.plan
                else 'all'
            end = slos.dimension_value

)

select * from final
