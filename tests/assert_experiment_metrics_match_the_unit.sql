-- Every metric an experiment names is measured on the experiment's randomisation unit: the
-- catalog (seeds/metrics/experiment_metrics.csv) measures each metric on one unit type, so a
-- user experiment naming an account metric (mrr_per_account) would get no unit rows and no
-- readout for it, silently. A warning: the other metrics and experiments are still read.
{{ config(severity='warn') }}
with

experiments as (

    select
        experiment_id,
        randomization_unit,
        primary_metric || '|' || coalesce(guardrail_metrics, '') as metric_list
    from {{ ref('stg_experimentation__experiments') }}

),

catalog as (

    select * from {{ ref('experiment_metrics') }}

)

select
    experiments.experiment_id,
    experiments.randomization_unit,
    catalog.metric_name,
    catalog.unit_type as metric_unit_type
from experiments
inner join catalog
    on {{ list_has_item('experiments.metric_list', 'catalog.metric_name') }}
where catalog.unit_type <> experiments.randomization_unit
