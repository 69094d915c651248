{{ config(materialized='view') }}
{#- The unit-level data every readout is computed from (see int_experiment_unit_metrics):
    one row per included unit and metric. `lawn readout` recomputes the readout from it.
    A view: the rows are int_experiment_unit_metrics' table, whole; as a table the mart was a
    second copy written on every build (455,301 rows at 10.2M events). -#}
select * from {{ ref('int_experiment_unit_metrics') }}
