{#- One row per registered automation holdout and account: whether the account is held out
    (hash bucket of salt || account_id below holdout_share x 10,000). Stable: an account
    keeps its assignment forever, and new accounts get one on their first build. -#}
with

holdouts as (

    select * from {{ ref('automation_holdouts') }}

),

accounts as (

    select * from {{ ref('int_accounts_combined') }}

),

bucketed as (

    select
        holdouts.holdout_id,
        holdouts.holdout_share,
        holdouts.registered_at,
        accounts.account_id,
        {{ hash_bucket("holdouts.salt || ':' || accounts.account_id") }} as hash_bucket
    from holdouts
    cross join accounts

),

final as (

    select
        holdout_id || ':' || account_id as holdout_assignment_key,
        holdout_id,
        account_id,
        hash_bucket,
        hash_bucket < holdout_share * 10000 as is_held_out,
        registered_at
    from bucketed

)

select * from final
