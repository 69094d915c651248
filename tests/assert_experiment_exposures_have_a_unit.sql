-- Every exposure to a registered experiment has a unit: an account-randomised experiment's
-- exposure event without an account_id (an SDK that sends the user id only) cannot be
-- assigned and is left out of fct_experiment_assignments. A warning naming the experiment
-- and how many exposures it lost, so the loss is not silent; the other units are read.
{{ config(severity='warn') }}
select
    experiment_id,
    unit_type,
    count(*) as exposures_without_unit
from {{ ref('int_experiment_exposures') }}
where unit_id is null
group by experiment_id, unit_type
