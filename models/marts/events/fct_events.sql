{{ config(materialized='view') }}
{#- The public face of int_events_attributed: valid events with their person. -#}
select * from {{ ref('int_events_attributed') }}
