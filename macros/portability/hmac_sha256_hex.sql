{% macro hmac_sha256_hex(inner_pad_hex, outer_pad_hex, message) -%}
    {{ return(adapter.dispatch('hmac_sha256_hex', 'lawn')(inner_pad_hex, outer_pad_hex, message)) }}
{%- endmacro %}

{#- HMAC-SHA256 (RFC 2104) as lower-case hex, from the key's precomputed padded forms (hex):
    sha256(outer_pad || sha256(inner_pad || message)), the message as UTF-8 bytes. -#}
{% macro default__hmac_sha256_hex(inner_pad_hex, outer_pad_hex, message) -%}
    encode(sha256(decode({{ outer_pad_hex }}, 'hex')
        || sha256(decode({{ inner_pad_hex }}, 'hex') || convert_to({{ message }}, 'UTF8'))), 'hex')
{%- endmacro %}

{% macro duckdb__hmac_sha256_hex(inner_pad_hex, outer_pad_hex, message) -%}
    sha256(unhex({{ outer_pad_hex }})
        || unhex(sha256(unhex({{ inner_pad_hex }}) || encode({{ message }}))))
{%- endmacro %}

{% macro spark__hmac_sha256_hex(inner_pad_hex, outer_pad_hex, message) -%}
    sha2(concat(unhex({{ outer_pad_hex }}),
        unhex(sha2(concat(unhex({{ inner_pad_hex }}), encode({{ message }}, 'UTF-8')), 256))), 256)
{%- endmacro %}
