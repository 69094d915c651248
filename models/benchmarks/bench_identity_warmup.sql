{{ config(materialized='table', schema='benchmark', enabled=var('identity_benchmark', false)) }}
{#- Benchmark only: a one-row table that scripts/identity_benchmark.py builds in the same
    `dbt run`, just before bench_identity_components. dbt renders a materialization's
    templates the first time a process uses them (50-90 ms for `table`); this model pays
    that once, so the timed node holds the macro and its own table, not dbt's warm-up. -#}
select 1 as warmup_id
