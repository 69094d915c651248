{#- Restricted (schema pii): every identifier of marts.dim_identifiers with its value in
    clear. dim_identifiers shows emails only as their keyed hash; this maps that masked
    identifier_key back to the email (and to the person). -#}
with

identity_map as (

    select * from {{ ref('int_identity_map') }}

),

final as (

    select
        identifier_type || ':'
        || {{ masked_identifier_value('identifier_type', 'identifier_value') }}
            as identifier_key,
        identifier_type,
        identifier_value,
        person_id
    from identity_map

)

select * from final
