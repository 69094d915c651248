{#- Every registered bandit has at least two arms and a floor the arms can all get
    (arms x exploration_floor <= 1), as lawn.bandit.BanditSpec requires; a registry
    row that fails would stop the nightly's bandit step, so it fails the build first. -#}
with

arms as (

    select
        bandit_id,
        count(*) as arm_count
    from {{ ref('bandit_arms') }}
    group by bandit_id

)

select
    registry.bandit_id,
    coalesce(arms.arm_count, 0) as arm_count,
    registry.exploration_floor
from {{ ref('bandit_registry') }} as registry
left join arms on registry.bandit_id = arms.bandit_id
where
    coalesce(arms.arm_count, 0) < 2
    or registry.exploration_floor * arms.arm_count > 1
