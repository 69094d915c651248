{#- A person's account plan in dim_users is the plan dim_accounts gives that account (`none`
    for one that never paid): a black-box probe (2026-12-07) found null in one mart and
    `none` in the other for the same account. -#}
select
    persons.person_id,
    persons.account_id,
    persons.account_plan,
    customer_accounts.plan
from {{ ref('dim_users') }} as persons
inner join {{ ref('dim_accounts') }} as customer_accounts
    on persons.account_id = customer_accounts.account_id
where persons.account_plan is distinct from customer_accounts.plan
