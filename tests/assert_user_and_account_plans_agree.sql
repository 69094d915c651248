{#- A person's account plan in dim_users is the plan dim_accounts gives that account (`none`
    for one that never paid): a black-box probe (2026-12-07) found null in one mart and
    `none` in the other for the same account. -#}
select
    users.person_id,
    users.account_id,
    users.account_plan,
    accounts.plan
from {{ ref('dim_users') }} as users
inner join {{ ref('dim_accounts') }} as accounts on users.account_id = accounts.account_id
where users.account_plan is distinct from accounts.plan
