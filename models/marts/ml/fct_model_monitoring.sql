{#- The churn model's monitoring checks by data day, version and slice: feature drift
    (population stability index of the newest day against the training window) and, for
    scored days whose 30-day outcome is known, AUC and calibration gap overall, by segment
    and by signup cohort month; `is_flagged` when a check is beyond its threshold. -#}
with

checks as (

    select * from {{ ref('stg_ml__model_monitoring') }}

),

final as (

    select
        monitoring_check_key,
        as_of_date,
        model_version,
        is_shadow,
        check_name,
        subject,
        slice_dimension,
        slice_value,
        metric_value,
        threshold,
        row_count,
        is_flagged,
        run_at
    from checks

)

select * from final
