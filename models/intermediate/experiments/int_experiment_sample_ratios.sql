{#- Sample-ratio-mismatch check per experiment: included units per variant against the
    registered allocation (holdout_share for `holdout`, the rest split evenly between
    `control` and `treatment`; an empty holdout_share, optional in the registry, is no
    holdout), Pearson's chi-square and its p-value. The p-value is exact for 2 arms (df 1,
    via the normal CDF) and 3 arms (df 2: exp(-x/2)). Units in an arm with no registered
    share (a holdout arm without holdout_share) make it 0: the chi-square of the registered
    arms alone (with those units in the total) missed them (p 0.07 at 10/10/10). -#}
with

assignments as (

    select * from {{ ref('int_experiment_assignments') }}
    where is_included

),

experiments as (

    select * from {{ ref('stg_experimentation__experiments') }}

),

registered_shares as (

    -- holdout_share is optional in the registry: none registered is no holdout
    select
        experiment_id,
        coalesce(holdout_share, 0) as holdout_share
    from experiments

),

arms as (

    select 'control' as variant
    union all
    select 'treatment' as variant
    union all
    select 'holdout' as variant

),

expected_shares as (

    select
        registered_shares.experiment_id,
        arms.variant,
        case
            when arms.variant = 'holdout' then registered_shares.holdout_share
            else (1 - registered_shares.holdout_share) / 2
        end as expected_share
    from registered_shares
    cross join arms
    where arms.variant <> 'holdout' or registered_shares.holdout_share > 0

),

observed as (

    select
        experiment_id,
        variant,
        count(*) as units
    from assignments
    group by experiment_id, variant

),

totals as (

    select
        experiment_id,
        count(*) as total_units
    from assignments
    group by experiment_id

),

cells as (

    select
        expected_shares.experiment_id,
        expected_shares.variant,
        coalesce(observed.units, 0) as observed_units,
        expected_shares.expected_share * totals.total_units as expected_units
    from expected_shares
    inner join totals on expected_shares.experiment_id = totals.experiment_id
    left join observed
        on
            expected_shares.experiment_id = observed.experiment_id
            and expected_shares.variant = observed.variant

),

unregistered as (

    -- units in an arm the registry gives no share (a holdout arm of an experiment registered
    -- without holdout_share, or with 0): expected 0, so the mismatch is certain (p = 0)
    select
        observed.experiment_id,
        sum(observed.units) as units
    from observed
    left join expected_shares
        on
            observed.experiment_id = expected_shares.experiment_id
            and observed.variant = expected_shares.variant
    where expected_shares.variant is null
    group by observed.experiment_id

),

statistic as (

    select
        experiment_id,
        count(*) - 1 as degrees_of_freedom,
        sum({{ chi_square_term('observed_units', 'expected_units') }}) as chi_square
    from cells
    group by experiment_id

),

final as (

    select
        statistic.experiment_id,
        statistic.degrees_of_freedom,
        statistic.chi_square,
        case
            when unregistered.units > 0 then cast(0 as {{ type_double() }})
            else {{ chi_square_p_value('statistic.chi_square', 'statistic.degrees_of_freedom') }}
        end as srm_p_value
    from statistic
    left join unregistered on statistic.experiment_id = unregistered.experiment_id

)

select * from final
