{{ config(materialized='table') }}
{#- Connected components of anonymous and device ids (one browser or app install and the
    cookies it had), each identifier with the smallest key of its cluster.
    Only the components a changed edge touches are labelled again
    (incremental_connected_components, docs/incremental_components.md). -#}
{%- set labels = incremental_connected_components(ref('int_identity_device_edges'), 'labels') -%}
with

labels as (

    select * from {{ labels }}

),

final as (

    select
        node as identifier_key,
        component as device_cluster
    from labels

)

select * from final
