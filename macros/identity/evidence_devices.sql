{% macro evidence_devices(relation, device_column, user_column) -%}
    {#- The (device, user_id) rows of `relation` whose browser or device at most
        `identity_max_users_per_shared_device` user_ids used: the devices that are evidence
        that two of their users are one person. One seen with more (a lobby kiosk, an office
        tablet passed around, a family computer) says nothing about any one pair of its users.
        The matcher (int_identity_user_overlaps) and the profiles `lawn identity-weights`
        compares (pii_user_match_profiles) read the same rows. -#}
    select
        {{ device_column }},
        {{ user_column }}
    from (
        select
            {{ device_column }},
            {{ user_column }},
            count(*) over (partition by {{ device_column }}) as device_users
        from {{ relation }}
    ) as counted
    where device_users <= {{ var('identity_max_users_per_shared_device') }}
{%- endmacro %}
