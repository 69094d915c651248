{{ config(materialized='view') }}
{#- One row per experiment and unit ever exposed, with its variant and whether it enters
    the readout (see int_experiment_assignments, which the readout models read).
    A view over that table, not a second copy written on every build. -#}
select * from {{ ref('int_experiment_assignments') }}
