{% macro keyed_hash(expression) -%}
    {#- HMAC-SHA256 (hex) of the value under the identity hash key: a pseudonymous id safe
        to hand to vendors. The key is never in the SQL: Python (lawn build / lawn nightly)
        writes its two padded forms into ops.identity_hash_key before dbt runs, and this
        reads them from there (see lawn/identity_key.py and docs/hardening.md). -#}
    {%- set keys = ref('stg_ops__identity_hash_keys') -%}
    {{ hmac_sha256_hex(
        '(select inner_pad_hex from ' ~ keys ~ ')',
        '(select outer_pad_hex from ' ~ keys ~ ')',
        'cast(' ~ expression ~ ' as ' ~ dbt.type_string() ~ ')'
    ) }}
{%- endmacro %}
