-- Retention at period 0 is 100%: every member of a cohort is active on their anchor day.
select *
from {{ ref('fct_retention_cohorts') }}
where period_number = 0 and (retention_rate <> 1 or retained_units <> eligible_units)
