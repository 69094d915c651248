{#- The unit-level data every readout is computed from (see int_experiment_unit_metrics):
    one row per included unit and metric. `lawn readout` recomputes the readout from it. -#}
select * from {{ ref('int_experiment_unit_metrics') }}
