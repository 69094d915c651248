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
      mean otherwise) that may be looked at daily;
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
        (paired.sum_value + paired.control_sum_value) / (paired.units + paired.control_units)
            as pooled_rate,
        case
            when paired.metric_type = 'mean'
                then power(
                        paired.variance / paired.units
                        + paired.control_variance / paired.control_units,
                        2
                    )
                    / (
                        power(paired.variance / paired.units, 2) / nullif(paired.units - 1, 0)
                        + power(paired.control_variance / paired.control_units, 2)
                        / nullif(paired.control_units - 1, 0)
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
            when differences.metric_type = 'proportion'
                then differences.absolute_lift / nullif(sqrt(
                        differences.pooled_rate * (1 - differences.pooled_rate)
                        * (1.0 / differences.units + 1.0 / differences.control_units)
                    ), 0)
            else differences.absolute_lift
                / case when differences.standard_error > 1e-12 then differences.standard_error end
        end as test_statistic,
        case
            when differences.metric_type <> 'ratio' and differences.pair_var_pre > 1e-12
                then differences.pair_cov_value_pre / differences.pair_var_pre
            when differences.metric_type <> 'ratio' then 0.0
        end as cuped_theta,
        {%- set z_975 = 'cast(1.959963984540054 as ' ~ type_double() ~ ')' %}
        {{ t_quantile_cornish_fisher(z_975, 'differences.degrees_of_freedom') }}
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
        {{ normal_cdf('t_refinement.abs_statistic') }} as normal_cdf_statistic,
        {{ normal_cdf('t_refinement.statistic_deviate') }} as normal_cdf_deviate,
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
        {{ normal_cdf('normal_tails.cuped_abs_statistic') }} as normal_cdf_cuped,
        case
            when normal_tails.test_statistic is null then null
            when
                normal_tails.metric_type = 'mean'
                and normal_tails.degrees_of_freedom >= {{ var('experiment_min_welch_df') }}
                then normal_tails.t_quantile_start
                    - (normal_tails.normal_cdf_quantile_deviate - 0.975)
                    / normal_tails.quantile_density
            when normal_tails.metric_type <> 'mean'
                then cast(1.959963984540054 as {{ type_double() }})
        end as critical_value,
        case
            when normal_tails.test_statistic is null then null
            when
                normal_tails.metric_type = 'mean'
                and normal_tails.degrees_of_freedom >= {{ var('experiment_min_welch_df') }}
                then 2 * (1 - normal_tails.normal_cdf_deviate)
            when normal_tails.metric_type <> 'mean'
                then 2 * (1 - normal_tails.normal_cdf_statistic)
        end as p_value
    from normal_tails

),

with_registry as (

    select
        tested.*,
        experiments.primary_metric,
        experiments.minimum_detectable_effect,
        experiments.alpha,
        experiments.planned_sample_size_per_arm,
        nullif(power(
            case
                when tested.metric_name = experiments.primary_metric
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

ranked as (

    select
        with_registry.*,
        count(with_registry.p_value) over (
            partition by with_registry.experiment_id, with_registry.variant
        ) as metrics_tested,
        row_number() over (
            partition by with_registry.experiment_id, with_registry.variant
            order by with_registry.p_value, with_registry.metric_name
        ) as p_value_rank
    from with_registry

),

adjusted as (

    select
        ranked.*,
        case
            when ranked.p_value is not null
                then least(
                        1.0,
                        min(ranked.p_value * ranked.metrics_tested / ranked.p_value_rank) over (
                            partition by ranked.experiment_id, ranked.variant
                            order by ranked.p_value_rank desc
                            rows between unbounded preceding and current row
                        )
                    )
        end as p_value_bh,
        sqrt(
            (ranked.sampling_variance + ranked.mixture_variance)
            / ranked.sampling_variance
        )
        * exp(
            -ranked.mixture_variance * power(ranked.absolute_lift, 2)
            / (
                2
                * ranked.sampling_variance
                * (ranked.sampling_variance + ranked.mixture_variance)
            )
        ) as inverse_likelihood_ratio
    from ranked

),

final as (

    select
        adjusted.experiment_id || ':' || adjusted.variant || ':' || adjusted.metric_name
            as readout_key,
        adjusted.experiment_id,
        adjusted.variant,
        adjusted.metric_name,
        adjusted.metric_role,
        adjusted.metric_type,
        adjusted.units,
        adjusted.estimate,
        adjusted.variance,
        adjusted.control_units,
        adjusted.control_estimate,
        adjusted.absolute_lift,
        adjusted.absolute_lift / nullif(adjusted.control_estimate, 0) as relative_lift,
        adjusted.standard_error,
        adjusted.test_statistic,
        adjusted.degrees_of_freedom,
        adjusted.absolute_lift - adjusted.critical_value * adjusted.standard_error as ci_low,
        adjusted.absolute_lift + adjusted.critical_value * adjusted.standard_error as ci_high,
        adjusted.p_value,
        adjusted.p_value_bh,
        adjusted.p_value < adjusted.alpha as is_significant,
        adjusted.cuped_theta,
        adjusted.cuped_lift,
        adjusted.cuped_lift - 1.959963984540054 * case
            when adjusted.cuped_standard_error > 1e-12 then adjusted.cuped_standard_error
        end
            as cuped_ci_low,
        adjusted.cuped_lift + 1.959963984540054 * case
            when adjusted.cuped_standard_error > 1e-12 then adjusted.cuped_standard_error
        end
            as cuped_ci_high,
        2 * (1 - adjusted.normal_cdf_cuped) as cuped_p_value,
        sqrt(adjusted.mixture_variance) as sequential_tau,
        adjusted.absolute_lift - sqrt(
            adjusted.sampling_variance * (adjusted.sampling_variance + adjusted.mixture_variance)
            / adjusted.mixture_variance
            * (
                ln(
                    (adjusted.sampling_variance + adjusted.mixture_variance)
                    / adjusted.sampling_variance
                )
                - 2 * ln(adjusted.alpha)
            )
        ) as sequential_ci_low,
        adjusted.absolute_lift + sqrt(
            adjusted.sampling_variance * (adjusted.sampling_variance + adjusted.mixture_variance)
            / adjusted.mixture_variance
            * (
                ln(
                    (adjusted.sampling_variance + adjusted.mixture_variance)
                    / adjusted.sampling_variance
                )
                - 2 * ln(adjusted.alpha)
            )
        ) as sequential_ci_high,
        case
            when adjusted.inverse_likelihood_ratio < 1.0 then adjusted.inverse_likelihood_ratio
            when adjusted.inverse_likelihood_ratio >= 1.0 then 1.0
        end as sequential_p_value,
        adjusted.metric_name = adjusted.primary_metric as is_primary_metric,
        adjusted.primary_metric as registered_primary_metric,
        adjusted.minimum_detectable_effect as registered_mde,
        adjusted.alpha,
        adjusted.planned_sample_size_per_arm,
        least(adjusted.units, adjusted.control_units) >= adjusted.planned_sample_size_per_arm
            as has_reached_planned_sample,
        adjusted.srm_p_value,
        coalesce(adjusted.srm_p_value < {{ var('srm_alpha') }}, false) as has_sample_ratio_mismatch,
        not coalesce(adjusted.srm_p_value < {{ var('srm_alpha') }}, false) as is_trustworthy
    from adjusted

)

select * from final
