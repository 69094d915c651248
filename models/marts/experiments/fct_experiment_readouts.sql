{#- The readout of every experiment x variant x metric (primary and guardrails from the
    registry) against control, computed in SQL so analysts can query it:
    - units, estimate (mean, rate or ratio), variance (see int_experiment_arm_stats);
    - absolute and relative lift, 95% interval, p-value: two-proportion z-test (pooled
      variance for the test, unpooled Wald interval) for proportions, Welch's t-test (Welch-
      Satterthwaite df, t quantile) for means, the delta method (normal) for ratios; a Welch
      test with fewer than var experiment_min_welch_df degrees of freedom gets no p-value
      or interval (the t distribution is computed from approximations exact to 1e-9 from
      10 df on, and such a test is meaningless anyway);
    - CUPED: lift adjusted with theta = cov(Y, X) / var(X) over both arms, X the unit's
      pre-exposure value of the metric (theta = 0, so no change, where X is constant);
    - an always-valid interval and p-value (mixture SPRT with a normal mixture of sd tau:
      the registered MDE for the primary metric, var sequential_relative_tau x the control
      mean otherwise, a primary metric registered without an MDE included) that may be
      looked at daily; an experiment registered without alpha (optional) is read at var
      experiment_default_alpha;
    - Benjamini-Hochberg adjusted p-values across the experiment's metrics (per variant);
    - pre-registration: the registered primary metric and MDE, the planned sample per arm,
      whether it is reached; and the sample-ratio-mismatch p-value, with `is_trustworthy`
      false when it is below var srm_alpha. -#}
with

arms as (

    select * from {{ ref('int_experiment_arm_stats') }}

),

experiments as (

    select * from {{ ref('stg_experimentation__experiments') }}

),

sample_ratios as (

    select * from {{ ref('int_experiment_sample_ratios') }}

),

paired as (

    select
        arms.*,
        control.units as control_units,
        control.estimate as control_estimate,
        control.variance as control_variance,
        control.sum_value as control_sum_value,
        control.mean_pre as control_mean_pre,
        control.var_value as control_var_value,
        control.var_pre as control_var_pre,
        control.cov_value_pre as control_cov_value_pre,
        arms.units + control.units as pair_units,
        arms.sum_value + control.sum_value as pair_sum_value,
        arms.sum_pre + control.sum_pre as pair_sum_pre,
        arms.sum_value_pre + control.sum_value_pre as pair_sum_value_pre,
        arms.sum_pre_pre + control.sum_pre_pre as pair_sum_pre_pre
    from arms
    left join arms as control
        on
            arms.experiment_id = control.experiment_id
            and arms.metric_name = control.metric_name
            and control.variant = 'control'

),

differences as (

    select
        paired.*,
        case when paired.variant <> 'control' then paired.estimate - paired.control_estimate end
            as absolute_lift,
        sqrt(paired.variance / paired.units + paired.control_variance / paired.control_units)
            as standard_error,
        case
            when paired.metric_type = 'mean'
                then power(
                        paired.variance / paired.units
                        + paired.control_variance / paired.control_units,
                        2
                    )
                    {#- both variances zero: no df (DuckDB would give NaN, PostgreSQL an error) -#}
                    / nullif(
                        power(paired.variance / paired.units, 2) / nullif(paired.units - 1, 0)
                        + power(paired.control_variance / paired.control_units, 2)
                        / nullif(paired.control_units - 1, 0),
                        0
                    )
        end as degrees_of_freedom,
        case
            when paired.pair_units > 1
                then (
                    paired.pair_sum_pre_pre
                    - paired.pair_sum_pre * paired.pair_sum_pre / paired.pair_units
                )
                / (paired.pair_units - 1)
        end as pair_var_pre,
        case
            when paired.pair_units > 1
                then (
                    paired.pair_sum_value_pre
                    - paired.pair_sum_value * paired.pair_sum_pre / paired.pair_units
                ) / (paired.pair_units - 1)
        end as pair_cov_value_pre
    from paired

),

statistics as (

    select
        differences.*,
        case
            when differences.metric_type = 'proportion' and differences.variant <> 'control'
                then {{ two_proportion_z_statistic(
                    'differences.sum_value', 'differences.units',
                    'differences.control_sum_value', 'differences.control_units',
                    pooled=true
                ) }}
            else differences.absolute_lift
                / case when differences.standard_error > 1e-12 then differences.standard_error end
        end as test_statistic,
        case
            when differences.metric_type <> 'ratio' and differences.pair_var_pre > 1e-12
                then differences.pair_cov_value_pre / differences.pair_var_pre
            when differences.metric_type <> 'ratio' then 0.0
        end as cuped_theta,
        {{ t_quantile_cornish_fisher(normal_quantile_975(), 'differences.degrees_of_freedom') }}
            as t_quantile_start
    from differences

),

t_refinement as (

    select
        statistics.*,
        abs(statistics.test_statistic) as abs_statistic,
        {{ t_normal_deviate('abs(statistics.test_statistic)', 'statistics.degrees_of_freedom') }}
            as statistic_deviate,
        {{ t_normal_deviate('statistics.t_quantile_start', 'statistics.degrees_of_freedom') }}
            as quantile_deviate,
        {{ t_density('statistics.t_quantile_start', 'statistics.degrees_of_freedom') }}
            as quantile_density,
        statistics.absolute_lift
        - statistics.cuped_theta * (statistics.mean_pre - statistics.control_mean_pre)
            as cuped_lift,
        sqrt(
            (
                statistics.var_value - 2 * statistics.cuped_theta * statistics.cov_value_pre
                + power(statistics.cuped_theta, 2) * statistics.var_pre
            ) / statistics.units
            + (
                statistics.control_var_value
                - 2 * statistics.cuped_theta * statistics.control_cov_value_pre
                + power(statistics.cuped_theta, 2) * statistics.control_var_pre
            ) / statistics.control_units
        ) as cuped_standard_error
    from statistics

),

normal_tails as (

    select
        t_refinement.*,
        {{ normal_cdf('t_refinement.quantile_deviate') }} as normal_cdf_quantile_deviate,
        abs(
            t_refinement.cuped_lift
            / case
                when t_refinement.cuped_standard_error > 1e-12
                    then t_refinement.cuped_standard_error
            end
        )
            as cuped_abs_statistic
    from t_refinement

),

tested as (

    select
        normal_tails.*,
        case
            when normal_tails.test_statistic is null then null
            when
                normal_tails.metric_type = 'mean'
                and normal_tails.degrees_of_freedom >= {{ var('experiment_min_welch_df') }}
                then normal_tails.t_quantile_start
                    - (normal_tails.normal_cdf_quantile_deviate - 0.975)
                    / normal_tails.quantile_density
            when normal_tails.metric_type <> 'mean'
                then {{ normal_quantile_975() }}
        end as critical_value,
        case
            when normal_tails.test_statistic is null then null
            when
                normal_tails.metric_type = 'mean'
                and normal_tails.degrees_of_freedom >= {{ var('experiment_min_welch_df') }}
                then {{ two_sided_normal_p_value('normal_tails.statistic_deviate') }}
            when normal_tails.metric_type <> 'mean'
                then {{ two_sided_normal_p_value('normal_tails.abs_statistic') }}
        end as p_value
    from normal_tails

),

with_registry as (

    select
        tested.*,
        experiments.primary_metric,
        experiments.minimum_detectable_effect,
        coalesce(experiments.alpha, {{ var('experiment_default_alpha') }}) as alpha,
        experiments.planned_sample_size_per_arm,
        nullif(power(
            case
                when
                    tested.metric_name = experiments.primary_metric
                    and experiments.minimum_detectable_effect is not null
                    then experiments.minimum_detectable_effect
                else {{ var('sequential_relative_tau') }} * abs(tested.control_estimate)
            end, 2
        ), 0) as mixture_variance,
        nullif(power(tested.standard_error, 2), 0) as sampling_variance,
        sample_ratios.srm_p_value
    from tested
    inner join experiments on tested.experiment_id = experiments.experiment_id
    left join sample_ratios on tested.experiment_id = sample_ratios.experiment_id

),

adjusted as (

    {{ benjamini_hochberg(
        'with_registry', 'p_value', ['experiment_id', 'variant'], 'metric_name'
    ) }}

),

mixture as (

    select
        adjusted.*,
        sqrt(
            (adjusted.sampling_variance + adjusted.mixture_variance)
            / adjusted.sampling_variance
        )
        * exp(
            -adjusted.mixture_variance * power(adjusted.absolute_lift, 2)
            / (
                2
                * adjusted.sampling_variance
                * (adjusted.sampling_variance + adjusted.mixture_variance)
            )
        ) as inverse_likelihood_ratio
    from adjusted

),

final as (

    select
        mixture.experiment_id || ':' || mixture.variant || ':' || mixture.metric_name
            as readout_key,
        mixture.experiment_id,
        mixture.variant,
        mixture.metric_name,
        mixture.metric_role,
        mixture.metric_type,
        mixture.units,
        mixture.estimate,
        mixture.variance,
        mixture.control_units,
        mixture.control_estimate,
        mixture.absolute_lift,
        mixture.absolute_lift / nullif(mixture.control_estimate, 0) as relative_lift,
        mixture.standard_error,
        mixture.test_statistic,
        mixture.degrees_of_freedom,
        {{ wald_interval_bound(
            'mixture.absolute_lift', 'mixture.standard_error', 'lower', 'mixture.critical_value'
        ) }} as ci_low,
        {{ wald_interval_bound(
            'mixture.absolute_lift', 'mixture.standard_error', 'upper', 'mixture.critical_value'
        ) }} as ci_high,
        mixture.p_value,
        mixture.p_value_bh,
        mixture.p_value < mixture.alpha as is_significant,
        mixture.cuped_theta,
        mixture.cuped_lift,
        {%- set cuped_se = 'case when mixture.cuped_standard_error > 1e-12'
            ~ ' then mixture.cuped_standard_error end' %}
        {{ wald_interval_bound('mixture.cuped_lift', cuped_se, 'lower') }} as cuped_ci_low,
        {{ wald_interval_bound('mixture.cuped_lift', cuped_se, 'upper') }} as cuped_ci_high,
        {{ two_sided_normal_p_value('mixture.cuped_abs_statistic') }} as cuped_p_value,
        sqrt(mixture.mixture_variance) as sequential_tau,
        mixture.absolute_lift - sqrt(
            mixture.sampling_variance * (mixture.sampling_variance + mixture.mixture_variance)
            / mixture.mixture_variance
            * (
                ln(
                    (mixture.sampling_variance + mixture.mixture_variance)
                    / mixture.sampling_variance
                )
                - 2 * ln(mixture.alpha)
            )
        ) as sequential_ci_low,
        mixture.absolute_lift + sqrt(
            mixture.sampling_variance * (mixture.sampling_variance + mixture.mixture_variance)
            / mixture.mixture_variance
            * (
                ln(
                    (mixture.sampling_variance + mixture.mixture_variance)
                    / mixture.sampling_variance
                )
                - 2 * ln(mixture.alpha)
            )
        ) as sequential_ci_high,
        case
            when mixture.inverse_likelihood_ratio < 1.0 then mixture.inverse_likelihood_ratio
            when mixture.inverse_likelihood_ratio >= 1.0 then 1.0
        end as sequential_p_value,
        mixture.metric_name = mixture.primary_metric as is_primary_metric,
        mixture.primary_metric as registered_primary_metric,
        mixture.minimum_detectable_effect as registered_mde,
        mixture.alpha,
        mixture.planned_sample_size_per_arm,
        least(mixture.units, mixture.control_units) >= mixture.planned_sample_size_per_arm
            as has_reached_planned_sample,
        mixture.srm_p_value,
        coalesce(mixture.srm_p_value < {{ var('srm_alpha') }}, false) as has_sample_ratio_mismatch,
        not coalesce(mixture.srm_p_value < {{ var('srm_alpha') }}, false) as is_trustworthy
    from mixture

)

select * from final
