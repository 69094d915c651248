{{ config(materialized='table', schema='benchmark', enabled=var('identity_benchmark', false)) }}
{#- Benchmark only (scripts/identity_benchmark.py): the identity graph's connected-components
    macro on an arbitrary edge list, so it can be timed against scipy and splink. Disabled
    unless var identity_benchmark is true. -#}
{%- set labels = connected_components(source('benchmark', 'identity_edges'), 'labels') -%}
with

labels as (

    select * from {{ labels }}

),

final as (

    select
        node,
        component
    from labels

)

select * from final

-- depends_on: {{ ref('bench_identity_warmup') }} (built first: it takes dbt's first use of the table materialization)
