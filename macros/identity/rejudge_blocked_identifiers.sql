{% macro rejudge_blocked_identifiers() -%}
    {#- Pre-hook of int_identity_observations: on an incremental run, judge the rows the
        table already holds against the blocklist as it is now (seeds/identity), so that
        adding or removing a blocked value applies to history as a full refresh would.
        Only rows that are blocked now or whose value is on the current list can change,
        and only rows whose judgement differs are written; the reason is the smallest of
        the matching entries, as in the model. -#}
    {%- if is_incremental() -%}
        {%- set blocklist = ref('identity_blocklist') -%}
        {%- set matching -%}
            select min(blocklist.reason)
            from {{ blocklist }} as blocklist
            where
                {{ normalize_identifier('blocklist.blocked_value') }}
                = observations.identifier_value
                and blocklist.identifier_type in ('*', observations.identifier_type)
        {%- endset -%}
        {%- set reason -%}
            coalesce(
                ({{ matching }}),
                case when observations.identifier_value = '' then 'empty once normalised' end
            )
        {%- endset -%}
        update {{ this }} as observations
        set
            blocked_reason = {{ reason }},
            is_blocked = {{ reason }} is not null
        where
            (
                observations.is_blocked
                or observations.identifier_value in (
                    select {{ normalize_identifier('blocklist.blocked_value') }}
                    from {{ blocklist }} as blocklist
                )
            )
            and coalesce(observations.blocked_reason, '') <> coalesce({{ reason }}, '')
    {%- endif -%}
{%- endmacro %}
