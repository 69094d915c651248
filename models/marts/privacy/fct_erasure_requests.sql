{{ config(materialized='view') }}
{#- A view over the served erasure requests: what identified the person (never the value),
    how much was erased, and the time to completion. -#}
with

requests as (

    select * from {{ ref('stg_privacy__erasure_requests') }}

),

final as (

    select
        request_id,
        requested_by_type,
        person_hash,
        identifiers_erased,
        rows_erased,
        files_rewritten,
        requested_at,
        completed_at,
        seconds_taken
    from requests

)

select * from final
