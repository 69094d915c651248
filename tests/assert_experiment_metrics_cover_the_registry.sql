-- Every primary and guardrail metric named in the experiment registry is in the metric
-- catalog (seeds/metrics/experiment_metrics.csv), so no registered metric goes unread.
with

experiments as (

    select * from {{ ref('stg_experimentation__experiments') }}

),

catalog as (

    select * from {{ ref('experiment_metrics') }}

),

named as (

    select
        experiments.experiment_id,
        count(catalog.metric_name) as metrics_found,
        length(experiments.primary_metric || '|' || coalesce(experiments.guardrail_metrics, ''))
        - length(replace(
            experiments.primary_metric || '|' || coalesce(experiments.guardrail_metrics, ''),
            '|',
            ''
        )) + 1 as metrics_named
    from experiments
    left join catalog
        on
            '|' || experiments.primary_metric || '|' || coalesce(experiments.guardrail_metrics, '')
            || '|' like '%|' || catalog.metric_name || '|%'
    group by experiments.experiment_id, experiments.primary_metric, experiments.guardrail_metrics

)

select * from named
where metrics_found <> metrics_named
