{#- Restricted (schema pii): the direct PII of each person in marts.dim_users, by
    person_id: the email (the identify traits of the founding user_id, else the email
    identifier the person was first seen with most recently), the name and the founding
    user_id in clear (dim_users masks an email-shaped one). Analysts join
    on person_id or email_key only with the pii_reader role. -#}
with

users as (

    select * from {{ ref('dim_users') }}

),

founders as (

    {#- the founding user_id in clear: dim_users shows an email-shaped one as its keyed hash -#}
    select distinct
        person_id,
        founding_user_id
    from {{ ref('int_identity_user_persons') }}

),

profiles as (

    select * from {{ ref('int_identity_user_profiles') }}

),

identity_map as (

    select * from {{ ref('int_identity_map') }}
    where person_id is not null and identifier_type = 'email'

),

observed_emails as (

    select
        person_id,
        identifier_value as email,
        row_number() over (
            partition by person_id order by first_seen_at desc, identifier_value asc
        ) as recency
    from identity_map

),

final as (

    select
        users.person_id,
        founders.founding_user_id as primary_user_id,
        coalesce(profiles.email, observed_emails.email) as email,
        users.email_key,
        profiles.first_name,
        profiles.last_name
    from users
    left join founders on users.person_id = founders.person_id
    left join profiles on founders.founding_user_id = profiles.user_id
    left join observed_emails
        on users.person_id = observed_emails.person_id and observed_emails.recency = 1

)

select * from final
