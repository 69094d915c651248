{#- The restricted place for direct PII (schema pii, read by pii_reader only): how to reach
    each identified person. Analyst-facing marts carry the person's pseudonymous keys. -#}
with

users as (

    select * from {{ ref('dim_users') }}

),

final as (

    select
        person_id,
        person_key,
        email
    from users
    where email is not null

)

select * from final
