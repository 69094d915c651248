{#- Per experiment, variant and metric: the sufficient statistics of the observable units.
    For ratio metrics `variance` is the delta-method linearisation
    (var_y - 2 R cov_xy + R^2 var_x) / mean_x^2, so variance / units is the variance of the
    arm's ratio; for proportions it is p (1 - p); for means the sample variance. Sums of
    the pre-exposure covariate feed CUPED. A (small) table: the readout joins it to itself
    and its key is tested, and a view recomputed the aggregation for each of them. -#}
{{ config(materialized='table') }}
with

units as (

    select * from {{ ref('int_experiment_unit_metrics') }}
    where is_observable

),

aggregated as (

    select
        experiment_id,
        variant,
        metric_name,
        metric_type,
        metric_role,
        count(*) as units,
        sum(metric_value) as sum_value,
        sum(denominator_value) as sum_denominator,
        sum(pre_value) as sum_pre,
        sum(metric_value * pre_value) as sum_value_pre,
        sum(pre_value * pre_value) as sum_pre_pre,
        var_samp(metric_value) as var_value,
        var_samp(denominator_value) as var_denominator,
        covar_samp(metric_value, denominator_value) as cov_value_denominator,
        var_samp(pre_value) as var_pre,
        covar_samp(metric_value, pre_value) as cov_value_pre
    from units
    group by experiment_id, variant, metric_name, metric_type, metric_role

),

final as (

    select
        aggregated.experiment_id
        || ':'
        || aggregated.variant
        || ':'
        || aggregated.metric_name as arm_metric_key,
        aggregated.*,
        case
            when
                aggregated.metric_type = 'ratio' and aggregated.sum_denominator > 0
                then aggregated.sum_value / aggregated.sum_denominator
            when aggregated.metric_type <> 'ratio' then aggregated.sum_value / aggregated.units
        end as estimate,
        aggregated.sum_pre / aggregated.units as mean_pre,
        case
            when
                aggregated.metric_type = 'proportion'
                then (aggregated.sum_value / aggregated.units)
                    * (1 - aggregated.sum_value / aggregated.units)
            when aggregated.metric_type = 'mean' then aggregated.var_value
            when aggregated.metric_type = 'ratio' and aggregated.sum_denominator > 0
                then (
                    aggregated.var_value
                    - 2
                    * (aggregated.sum_value / aggregated.sum_denominator)
                    * aggregated.cov_value_denominator
                    + power(aggregated.sum_value / aggregated.sum_denominator, 2)
                    * aggregated.var_denominator
                ) / power(aggregated.sum_denominator / aggregated.units, 2)
        end as variance
    from aggregated

)

select * from final
