{#- One row per experiment and unit ever exposed: the variant of its first exposure inside
    the registered dates, how many exposures and variants it had, and whether it enters
    the readout. Excluded (kept, with the reason): units exposed to more than one variant,
    and units whose every exposure fell before the start or after the end. Published as
    fct_experiment_assignments; a table because the readout path reads it twice (unit
    metrics and the sample-ratio check). -#}
{{ config(materialized='table') }}
with

exposures as (

    select * from {{ ref('int_experiment_exposures') }}
    where unit_id is not null

),

in_window as (

    select
        exposures.*,
        row_number() over (
            partition by exposures.experiment_id, exposures.unit_id
            order by exposures.exposed_at, exposures.event_id
        ) as exposure_number
    from exposures
    where not exposures.is_before_start and not exposures.is_after_end

),

summary as (

    select
        experiment_id,
        unit_type,
        unit_id,
        min(account_id) as account_id,
        count(*) as exposure_count,
        count(distinct variant) as variant_count,
        count(case when is_before_start or is_after_end then 1 end) as exposures_outside_window
    from exposures
    group by experiment_id, unit_type, unit_id

),

final as (

    select
        summary.experiment_id || ':' || summary.unit_id as assignment_key,
        summary.experiment_id,
        summary.unit_type,
        summary.unit_id,
        summary.account_id,
        first_exposure.variant,
        first_exposure.exposed_at as first_exposed_at,
        summary.exposure_count,
        summary.variant_count,
        summary.exposures_outside_window,
        case
            when summary.variant_count > 1 then 'multiple_variants'
            when first_exposure.unit_id is null then 'outside_experiment_dates'
        end as exclusion_reason,
        summary.variant_count = 1 and first_exposure.unit_id is not null as is_included
    from summary
    left join in_window as first_exposure
        on
            summary.experiment_id = first_exposure.experiment_id
            and summary.unit_id = first_exposure.unit_id
            and first_exposure.exposure_number = 1

)

select * from final
