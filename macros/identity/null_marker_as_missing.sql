{% macro null_marker_as_missing(expression, identifier_type) -%}
    {#- A raw identifier trimmed, with a null marker written out as text (`NULL`, `\N`,
        `None`, `N/A`, `nan`, ...: the rows of seeds/identity/identity_blocklist flagged
        is_null_marker, for `*` or this identifier type) or an empty or blank value read as
        missing. The marker list is the blocklist's, in its normal form (normalize_identifier:
        `<null>` is `null`) and as written; the value is compared lower-cased and trimmed. An uncorrelated
        IN subquery on a seed of a few rows, in a projection: DuckDB, PostgreSQL and Spark
        run it alike. -#}
    case
        when lower(trim({{ expression }})) in (
            select {{ normalize_identifier('null_markers.blocked_value') }}
            from {{ ref('identity_blocklist') }} as null_markers
            where
                null_markers.is_null_marker
                and null_markers.identifier_type in ('*', '{{ identifier_type }}')
            union all
            select lower(trim(null_markers.blocked_value))
            from {{ ref('identity_blocklist') }} as null_markers
            where
                null_markers.is_null_marker
                and null_markers.identifier_type in ('*', '{{ identifier_type }}')
        ) then null
        else nullif(trim({{ expression }}), '')
    end
{%- endmacro %}
