{#- Every SLO of seeds/metrics/slo_definitions.csv evaluated on every day its data allows:
    the milestone rate over the entities anchored in the trailing window_days (ending on
    the evaluated date), the same over the window before it (the baseline), and the verdict
    (pass, breach, or insufficient_data below min_units). The days are those from the
    first anchor day of the SLO's milestone whose window is complete, over all of the
    milestone's entities, not only the SLO's dimension value, to the newest day whose window
    is complete (the end of the data less the milestone's window), whether or not an entity
    was anchored on it: so a build of an earlier day and a report as of that day on a later
    warehouse name the same newest day (a probe found them differing by up to six weeks for
    an SLO whose last anchors came days before the end of the data). An SLO whose
    entities stopped coming (no enterprise account for two months) is still evaluated on
    the newest complete day, with the units its window holds (0: insufficient_data), and
    an SLO with no entity at all is listed as insufficient_data rather than left out.
    is_latest marks the evaluation on that newest day: the SLO's current status.
    complete_on_date is the first end of the data (fct_data_day.data_end_date) on which
    the evaluation's windows are all complete: a report as of an earlier day shows only the
    evaluations complete by its own end of the data, as a build of that day would have. -#}
with

slos as (

    select * from {{ ref('slo_definitions') }}

),

units as (

    select * from {{ ref('int_slo_units') }}

),

calendar as (

    select date_day from {{ ref('int_calendar_days') }}

),

as_of as (

    select * from {{ ref('int_data_day') }}

),

complete_milestones as (

    select
        entity_type,
        milestone_name,
        min(anchor_date) as first_anchor_date,
        -- the milestone's window (one per milestone): an evaluation's windows are all
        -- complete when the data reaches its evaluated day plus this
        max(window_days) as milestone_window_days
    from {{ ref('int_activation_milestones') }}
    where is_window_complete
    group by entity_type, milestone_name

),

milestone_ranges as (

    select
        complete_milestones.entity_type,
        complete_milestones.milestone_name,
        complete_milestones.first_anchor_date,
        -- the newest day whose window the data covers (not the newest anchor on or before it)
        {%- set window_back = '-complete_milestones.milestone_window_days' %}
        cast({{ dbt.dateadd('day', window_back, 'as_of.data_end_date') }} as date)
            as last_anchor_date,
        complete_milestones.milestone_window_days
    from complete_milestones
    cross join as_of

),

slo_ranges as (

    select
        slos.slo_id,
        milestone_ranges.first_anchor_date,
        milestone_ranges.last_anchor_date,
        milestone_ranges.milestone_window_days
    from slos
    inner join milestone_ranges
        on
            slos.entity_type = milestone_ranges.entity_type
            and slos.milestone_name = milestone_ranges.milestone_name

),

evaluations as (

    select
        slos.slo_id,
        slos.window_days,
        calendar.date_day as evaluated_date,
        cast({{ dbt.dateadd('day', '-slos.window_days', 'calendar.date_day') }} as date)
            as current_after_date,
        cast({{ dbt.dateadd('day', '-2 * slos.window_days', 'calendar.date_day') }} as date)
            as baseline_after_date,
        slo_ranges.last_anchor_date
    from slos
    inner join slo_ranges on slos.slo_id = slo_ranges.slo_id
    inner join calendar
        on calendar.date_day between slo_ranges.first_anchor_date and slo_ranges.last_anchor_date

),

windowed as (

    select
        evaluations.slo_id,
        evaluations.evaluated_date,
        count(case
            when units.anchor_date > evaluations.current_after_date
                then 1
        end) as units,
        sum(case
            when units.anchor_date > evaluations.current_after_date
                then units.reached_units
            else 0
        end) as reached_units_sum,
        count(case
            when units.anchor_date <= evaluations.current_after_date
                then 1
        end) as baseline_units,
        sum(case
            when units.anchor_date <= evaluations.current_after_date
                then units.reached_units
            else 0
        end) as baseline_reached_units_sum
    from evaluations
    left join units
        on
            evaluations.slo_id = units.slo_id
            and evaluations.evaluated_date >= units.anchor_date
            and evaluations.baseline_after_date < units.anchor_date
    group by evaluations.slo_id, evaluations.evaluated_date

),

typed as (

    select
        slo_id,
        evaluated_date,
        units,
        cast(reached_units_sum as {{ dbt.type_bigint() }}) as reached_units,
        baseline_units,
        cast(baseline_reached_units_sum as {{ dbt.type_bigint() }}) as baseline_reached_units
    from windowed

),

valued as (

    select
        windowed.*,
        case
            when windowed.units > 0
                then cast(windowed.reached_units as {{ type_double() }}) / windowed.units
        end as metric_value,
        case
            when windowed.baseline_units > 0
                then cast(windowed.baseline_reached_units as {{ type_double() }})
                    / windowed.baseline_units
        end as baseline_value
    from typed as windowed

),

final as (

    select
        valued.slo_id || ':' || cast(valued.evaluated_date as {{ dbt.type_string() }})
            as slo_status_key,
        valued.slo_id,
        valued.evaluated_date,
        valued.evaluated_date = slo_ranges.last_anchor_date as is_latest,
        cast(
            {{ dbt.dateadd('day', 'slo_ranges.milestone_window_days', 'valued.evaluated_date') }}
            as date
        ) as complete_on_date,
        slos.entity_type,
        slos.milestone_name,
        slos.dimension_name,
        slos.dimension_value,
        slos.comparator,
        slos.threshold,
        slos.window_days,
        slos.min_units,
        valued.units,
        valued.reached_units,
        valued.metric_value,
        valued.baseline_units,
        valued.baseline_reached_units,
        valued.baseline_value,
        valued.metric_value - valued.baseline_value as change_vs_baseline,
        case
            when valued.units < slos.min_units then 'insufficient_data'
            when
                (slos.comparator = '>=' and valued.metric_value >= slos.threshold)
                or (slos.comparator = '>' and valued.metric_value > slos.threshold)
                or (slos.comparator = '<=' and valued.metric_value <= slos.threshold)
                or (slos.comparator = '<' and valued.metric_value < slos.threshold)
                then 'pass'
            else 'breach'
        end as status,
        slos.severity,
        slos.owner
    from valued
    inner join slos on valued.slo_id = slos.slo_id
    inner join slo_ranges on valued.slo_id = slo_ranges.slo_id

)

select * from final
