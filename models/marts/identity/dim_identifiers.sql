{#- The identity map: every usable identifier with the person behind it and the rule that
    decided it. Emails are shown as their keyed hash (in identifier_key and
    identifier_value); pii.pii_identifiers maps them back. Snapshotted on every build (snapshots/identity_map_history) so the map can
    be read as of any past build. -#}
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
        {{ masked_identifier_value('identifier_type', 'identifier_value') }}
            as identifier_value,
        person_id,
        resolution_rule,
        user_count,
        first_seen_at
    from identity_map

)

select * from final
