{{ config(materialized='table') }}
{#- Connected components of the deterministic user graph: each user_id with the smallest
    user_id of its component. Computed in the warehouse to convergence (see the macro).
    Only the components a changed edge touches are labelled again
    (incremental_connected_components, docs/incremental_components.md). -#}
{%- set labels = incremental_connected_components(
    ref('int_identity_deterministic_edges'), 'labels'
) -%}
with

labels as (

    select * from {{ labels }}

),

final as (

    select
        node as user_id,
        component as deterministic_component
    from labels

)

select * from final
