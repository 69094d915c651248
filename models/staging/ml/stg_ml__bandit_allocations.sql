with

source as (

    select * from {{ source('ml', 'bandit_allocations') }}

),

renamed as (

    select
        bandit_id || ':' || cast(decision_day as {{ dbt.type_string() }})
        || ':' || context || ':' || arm as bandit_allocation_key,
        bandit_id,
        cast(decision_day as date) as decision_day,
        context,
        arm,
        cast(posterior_alpha as {{ type_double() }}) as posterior_alpha,
        cast(posterior_beta as {{ type_double() }}) as posterior_beta,
        cast(prob_best as {{ type_double() }}) as prob_best,
        cast(share as {{ type_double() }}) as share,  -- noqa: RF04
        cast(seed as {{ dbt.type_bigint() }}) as seed,  -- noqa: RF04
        cast(draws as {{ dbt.type_bigint() }}) as draws,
        cast(exploration_floor as {{ type_double() }}) as exploration_floor,
        cast(holdout_share as {{ type_double() }}) as holdout_share,
        cast(allocated_at as {{ dbt.type_timestamp() }}) as allocated_at
    from source

)

select * from renamed
