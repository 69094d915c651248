{% macro keyed_hash(expression) -%}
    {#- sha256 of a secret key and the value: a pseudonymous id safe to hand to vendors.
        The key comes from LAWN_IDENTITY_HASH_KEY; the default is for local use only. -#}
    {%- set key = env_var('LAWN_IDENTITY_HASH_KEY', 'lawn-local-development-key') -%}
    {{ sha256_hex("'" ~ key ~ ":' || " ~ expression) }}
{%- endmacro %}
