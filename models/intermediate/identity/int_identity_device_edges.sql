{#- Links between anonymous ids and device ids (seen on one event), for clustering the
    identifiers of one browser or app install. Identifiers linked to several persons
    (shared devices) are left out so they cannot bridge two people. Every anonymous and
    device id also links to itself. -#}
with

links as (

    select * from {{ ref('int_identity_links') }}

),

direct_persons as (

    select * from {{ ref('int_identity_direct_persons') }}

),

usable as (

    select identifier_key from direct_persons
    where person_count <= {{ var('identity_max_persons_per_device') }}

),

device_links as (

    select
        links.left_key as node_a,
        links.right_key as node_b
    from links
    inner join usable as left_usable on links.left_key = left_usable.identifier_key
    inner join usable as right_usable on links.right_key = right_usable.identifier_key
    where
        links.left_type in ('anonymous_id', 'device_id')
        and links.right_type in ('anonymous_id', 'device_id')

),

final as (

    select * from device_links
    union all
    select
        identifier_key as node_a,
        identifier_key as node_b
    from direct_persons
    where identifier_type in ('anonymous_id', 'device_id')

)

select * from final
