{% macro null_marker_as_missing(expression, identifier_type) -%}
    {{ return(adapter.dispatch('null_marker_as_missing', 'lawn')(expression, identifier_type)) }}
{%- endmacro %}

{#- The null markers of an identifier type: the rows of seeds/identity/identity_blocklist
    flagged is_null_marker, for `*` or this type, in their normal form (normalize_identifier:
    `<null>` is `null`) and as written, lower-cased and trimmed. One column, a few rows. -#}
{% macro null_marker_values(identifier_type) -%}
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
{%- endmacro %}

{#- A raw identifier trimmed, with a null marker written out as text (`NULL`, `\N`, `None`,
    `N/A`, `nan`, ...: null_marker_values) or an empty or blank value read as missing; the
    value is compared lower-cased and trimmed. An uncorrelated IN subquery on a seed of a few
    rows, in a projection: PostgreSQL and Spark run it alike. -#}
{% macro default__null_marker_as_missing(expression, identifier_type) -%}
    case
        when lower(trim({{ expression }})) in (
            {{ null_marker_values(identifier_type) }}
        ) then null
        else nullif(trim({{ expression }}), '')
    end
{%- endmacro %}

{#- DuckDB: the same markers as one list value (an uncorrelated scalar subquery, computed
    once) and list_contains. DuckDB plans an IN subquery, or an IN list of a dozen constants,
    as a mark join over every row, which it keeps even when the column is not read: a
    count(*) of the 10.2M-row staging view ran four such joins (1.8 s of CPU), and every
    full read of the view paid them. A scalar expression is pruned when unread and costs
    less when read (docs/full_build_cost.md, "Null markers as a list"). The same rows
    are null: a value matches or not, a null value or an empty marker list (list() of no
    rows is null) give no match, as the IN subquery gives null or false. -#}
{% macro duckdb__null_marker_as_missing(expression, identifier_type) -%}
    case
        when list_contains(
            (
                select list(null_marker_list.marker)
                from ({{ null_marker_values(identifier_type) }}) as null_marker_list (marker)
            ),
            lower(trim({{ expression }}))
        ) then null
        else nullif(trim({{ expression }}), '')
    end
{%- endmacro %}
