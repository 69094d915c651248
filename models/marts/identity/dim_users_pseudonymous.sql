{#- dim_users without anything that identifies a person directly: keyed hashes (HMAC-SHA256
    under the identity hash key) of the person, the email and the account instead of ids and
    the address. The only user mart meant for external tools (ad platforms, CRM enrichment). -#}
with

users as (

    select * from {{ ref('dim_users') }}

),

final as (

    select
        person_key,
        email_key,
        is_identified,
        {{ keyed_hash('account_id') }} as account_key,
        cast(first_seen_at as date) as first_seen_date,
        cast(signed_up_at as date) as signed_up_date,
        account_plan,
        activation_state
    from users

)

select * from final
