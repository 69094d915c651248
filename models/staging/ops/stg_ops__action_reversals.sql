{#- One row per reverted action: the first reversal counts (the CLI refuses a second). -#}
with

source as (

    select * from {{ source('ops', 'action_reversals') }}

),

ranked as (

    select
        action_id,
        cast(reverted_at as {{ dbt.type_timestamp() }}) as reverted_at,
        reverted_by,
        reason,
        row_number() over (partition by action_id order by reverted_at) as reversal_number
    from source

),

final as (

    select
        action_id,
        reverted_at,
        reverted_by,
        reason
    from ranked
    where reversal_number = 1

)

select * from final
