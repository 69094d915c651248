{#- Sample-ratio-mismatch check per experiment: included units per variant against the
    registered allocation (holdout_share for `holdout`, the rest split evenly between
    `control` and `treatment`; an empty holdout_share, optional in the registry, is no
    holdout), Pearson's chi-square and its p-value. The p-value is exact for 2 arms (df 1,
    via the normal CDF) and 3 arms (df 2: exp(-x/2)). -#}
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
        experiment_id,
        degrees_of_freedom,
        chi_square,
        {{ chi_square_p_value('chi_square', 'degrees_of_freedom') }} as srm_p_value
    from statistic

)

select * from final
