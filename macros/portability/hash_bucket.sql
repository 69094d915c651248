{% macro hash_bucket(expression, buckets=10000) -%}
    {{ return(adapter.dispatch('hash_bucket', 'lawn')(expression, buckets)) }}
{%- endmacro %}

{#- A stable bucket in [0, buckets) from the first 6 hex digits of the sha256 of a text:
    sum of digit x 16^position, built from `position` in a hex alphabet so every engine
    agrees (and Python can recompute it: int(sha256(text).hexdigest()[:6], 16) % buckets);
    cast to bigint, as PostgreSQL's position() is an integer. -#}
{% macro default__hash_bucket(expression, buckets) -%}
    cast((
        {%- for i in range(6) %}
        (position(substr({{ sha256_hex(expression) }}, {{ i + 1 }}, 1) in '0123456789abcdef') - 1)
        * {{ 16 ** (5 - i) }}{% if not loop.last %} +{% endif %}
        {%- endfor %}
    ) % {{ buckets }} as {{ dbt.type_bigint() }})
{%- endmacro %}
