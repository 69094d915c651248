{#- For each SLO's latest evaluation: the change of its metric from the baseline window to
    the current one decomposed over each dimension (segment, platform, acquisition
    channel, plan). For a dimension value with current and baseline weights w1, w0 (its
    share of the window's entities) and rates r1, r0, the contribution w1*r1 - w0*r0 sums
    over the dimension's values to exactly the metric's change; it splits into a rate
    effect (mean weight x rate change) and a mix effect (the rest). Contributors are
    ranked across all dimensions, most adverse first (most negative for a >= SLO). -#}
with

latest_status as (

    select * from {{ ref('fct_slo_status') }}
    where is_latest

),

status as (

    select
        latest_status.*,
        cast(
            {{ dbt.dateadd('day', '-window_days', 'evaluated_date') }}
            as date
        ) as current_after_date,
        cast(
            {{ dbt.dateadd('day', '-2 * window_days', 'evaluated_date') }}
            as date
        ) as baseline_after_date
    from latest_status

),

units as (

    select * from {{ ref('int_slo_units') }}

),

windowed_units as (

    select
        units.*,
        case
            when units.anchor_date > status.current_after_date
                then 'current'
            else 'baseline'
        end as window_name
    from units
    inner join status
        on
            units.slo_id = status.slo_id
            and units.anchor_date <= status.evaluated_date
            and units.anchor_date > status.baseline_after_date

),

by_dimension as (

    {% for dimension in ['segment', 'platform', 'acquisition_channel', 'plan'] -%}
        select
            slo_id,
            '{{ dimension }}' as dimension_name,
            {{ dimension }} as dimension_value,
            window_name,
            reached_units
        from windowed_units
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

aggregated as (

    select
        slo_id,
        dimension_name,
        dimension_value,
        count(case when window_name = 'baseline' then 1 end) as baseline_units,
        cast(
            sum(case when window_name = 'baseline' then reached_units else 0 end)
            as {{ dbt.type_bigint() }}
        ) as baseline_reached_units,
        count(case when window_name = 'current' then 1 end) as current_units,
        cast(
            sum(case when window_name = 'current' then reached_units else 0 end)
            as {{ dbt.type_bigint() }}
        ) as current_reached_units
    from by_dimension
    group by slo_id, dimension_name, dimension_value

),

weighted as (

    select
        aggregated.*,
        case
            when status.baseline_units > 0
                then cast(aggregated.baseline_units as {{ type_double() }})
                    / status.baseline_units
            else 0
        end as baseline_weight,
        case
            when status.units > 0
                then cast(aggregated.current_units as {{ type_double() }}) / status.units
            else 0
        end as current_weight,
        case
            when aggregated.baseline_units > 0
                then cast(aggregated.baseline_reached_units as {{ type_double() }})
                    / aggregated.baseline_units
        end as baseline_rate,
        case
            when aggregated.current_units > 0
                then cast(aggregated.current_reached_units as {{ type_double() }})
                    / aggregated.current_units
        end as current_rate,
        status.comparator,
        status.status as slo_status,
        status.evaluated_date
    from aggregated
    inner join status on aggregated.slo_id = status.slo_id

),

effects as (

    select
        weighted.*,
        weighted.current_weight * coalesce(weighted.current_rate, 0)
        - weighted.baseline_weight * coalesce(weighted.baseline_rate, 0) as contribution,
        case
            when weighted.baseline_rate is not null and weighted.current_rate is not null
                then (weighted.baseline_weight + weighted.current_weight) / 2
                    * (weighted.current_rate - weighted.baseline_rate)
            else 0
        end as rate_effect
    from weighted

),

tested as (

    select
        effects.*,
        case
            when effects.baseline_units > 0 and effects.current_units > 0
                then
                    cast(
                        effects.baseline_reached_units + effects.current_reached_units
                        as {{ type_double() }}
                    )
                    / (effects.baseline_units + effects.current_units)
        end as pooled_rate
    from effects

),

standard_errors as (

    select
        tested.*,
        sqrt(
            tested.pooled_rate * (1 - tested.pooled_rate)
            * (1.0 / tested.baseline_units + 1.0 / tested.current_units)
        ) as rate_change_se
    from tested
    where tested.pooled_rate > 0 and tested.pooled_rate < 1

),

scored as (

    select
        tested.*,
        case
            when standard_errors.rate_change_se > 0
                then
                    (tested.current_rate - tested.baseline_rate)
                    / standard_errors.rate_change_se
            when tested.pooled_rate is not null then 0
        end as rate_change_z
    from tested
    left join standard_errors
        on
            tested.slo_id = standard_errors.slo_id
            and tested.dimension_name = standard_errors.dimension_name
            and tested.dimension_value = standard_errors.dimension_value

),

final as (

    select
        scored.slo_id || ':' || scored.dimension_name || ':' || scored.dimension_value
            as slo_root_cause_key,
        scored.slo_id,
        scored.evaluated_date,
        scored.slo_status,
        scored.dimension_name,
        scored.dimension_value,
        scored.baseline_units,
        scored.baseline_reached_units,
        scored.current_units,
        scored.current_reached_units,
        scored.baseline_weight,
        scored.current_weight,
        scored.baseline_rate,
        scored.current_rate,
        scored.contribution,
        scored.rate_effect,
        scored.contribution - scored.rate_effect as mix_effect,
        scored.rate_change_z,
        -- bigint as the contract says (row_number() is an int on Spark)
        cast(row_number() over (
            partition by scored.slo_id
            order by
                case
                    when scored.rate_change_z is null then 1 else 0
                end,
                case
                    when scored.comparator in ('>=', '>') then scored.rate_change_z
                    else -scored.rate_change_z
                end,
                scored.dimension_name,
                scored.dimension_value
        ) as {{ dbt.type_bigint() }}) as adverse_rank
    from scored

)

select * from final
