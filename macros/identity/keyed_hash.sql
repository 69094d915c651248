{% macro keyed_hash(expression) -%}
    {#- HMAC-SHA256 (hex) of the value under the identity hash key: a pseudonymous id safe
        to hand to vendors. The key is never in the SQL: Python (lawn build / lawn nightly)
        writes its two padded forms into ops.identity_hash_key before dbt runs, and this
        reads them from there (see lawn/identity_key.py and docs/hardening.md).
        The source table itself, not a staging model: an ephemeral one is a CTE that each
        use names twice, and DuckDB materialises a CTE named more than once, which then
        keeps every column of the query it feeds. `count(*)` of the fct_events view computed
        every row's properties and masked ids: 19 s of CPU at 10.2M events against 0.05 s
        (docs/full_build_cost.md, "The hash key as a table"). -#}
    {%- set keys = source('ops', 'identity_hash_key') -%}
    {{ hmac_sha256_hex(
        '(select inner_pad_hex from ' ~ keys ~ ')',
        '(select outer_pad_hex from ' ~ keys ~ ')',
        'cast(' ~ expression ~ ' as ' ~ dbt.type_string() ~ ')'
    ) }}
{%- endmacro %}
