{{ config(materialized='table') }}
{#- Connected components of the full user graph (deterministic + probabilistic links):
    each user_id with the smallest user_id of its component.
    Only the components a changed edge touches are labelled again
    (incremental_connected_components, docs/incremental_components.md). -#}
{%- set labels = incremental_connected_components(ref('int_identity_user_edges'), 'labels') -%}
with

labels as (

    select * from {{ labels }}

),

final as (

    select
        node as user_id,
        component as user_component
    from labels

)

select * from final
