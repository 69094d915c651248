{#- The identity hash key's padded forms, read by the keyed_hash macro. Ephemeral: never a
    view or table of its own, so the key material stays in ops.identity_hash_key only. -#}
{{ config(materialized='ephemeral') }}

with

source as (

    select * from {{ source('ops', 'identity_hash_key') }}

),

renamed as (

    select
        key_id,
        inner_pad_hex,
        outer_pad_hex,
        key_origin,
        cast(installed_at as {{ dbt.type_timestamp() }}) as installed_at
    from source

)

select * from renamed
