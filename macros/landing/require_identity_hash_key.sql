{#- Stop a build or run before any model when no identity hash key is installed: the
    pseudonymous keys (keyed_hash) would otherwise all be null. `lawn build` and
    `lawn nightly` install the key (lawn/identity_key.py); a bare `dbt build` on a new
    warehouse needs `lawn build` once. Runs from `on-run-start`, after create_landing_tables. -#}
{% macro require_identity_hash_key() -%}
    {%- if execute and flags.WHICH in ['build', 'run'] -%}
        {%- set found = run_query('select count(*) from ops.identity_hash_key') -%}
        {%- if found.columns[0].values()[0] != 1 -%}
            {{ exceptions.raise_compiler_error(
                'ops.identity_hash_key holds ' ~ found.columns[0].values()[0]
                ~ ' keys, expected 1: run `lawn build` or `lawn nightly`, which install the'
                ~ ' identity hash key (LAWN_IDENTITY_HASH_KEY) before dbt runs'
            ) }}
        {%- endif -%}
    {%- endif -%}
    select 1 as identity_hash_key_checked
{%- endmacro %}
