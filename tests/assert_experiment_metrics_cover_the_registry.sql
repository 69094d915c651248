-- Every primary and guardrail metric named in the experiment registry is in the metric
-- catalog (seeds/metrics/experiment_metrics.csv), so no registered metric goes unread.
-- guardrail_metrics is optional: an experiment without guardrails names its primary metric
-- only (the list is `primary` then `|guardrail` per guardrail, never a trailing `|`).
with

experiments as (

    select
        experiment_id,
        primary_metric || coalesce('|' || nullif(trim(guardrail_metrics), ''), '')
            as metric_list
    from {{ ref('stg_experimentation__experiments') }}

),

catalog as (

    select * from {{ ref('experiment_metrics') }}

),

named as (

    select
        experiments.experiment_id,
        count(catalog.metric_name) as metrics_found,
        length(experiments.metric_list)
        - length(replace(experiments.metric_list, '|', '')) + 1 as metrics_named
    from experiments
    left join catalog
        on {{ list_has_item('experiments.metric_list', 'catalog.metric_name') }}
    group by experiments.experiment_id, experiments.metric_list

)

select * from named
where metrics_found <> metrics_named
