{#- The first time each account and each person reached each moment of the metric_moments
    configuration (event name, optionally one property equal to a value, or numerically
    greater than it: `plan_changed` with `mrr_usd > 0` is a payment, a $0 trial is not).
    Stored, not a view: about ten marts read it (directly or through
    int_activation_milestones), and as a view each of them rescanned every event with its
    identity joins and JSON (docs/incremental_identity.md).
    Incremental on DuckDB and PostgreSQL (a table on Spark), as int_activity_days: a run
    recomputes only the persons and accounts int_events_attributed's change log names since
    this model's last run, from all their events (docs/incremental_attribution.md, "The
    change log"); it rebuilds in full without a usable log or when metric_moments changed. -#}
{%- set since = changes_since_consumed(moments_fingerprint()) %}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_entities(moments_fingerprint()) }}",
    post_hook="{{ save_consumed_changes(moments_fingerprint()) }}"
) }}
with

{% if since is not none -%}
changed as {{ changed_entities(since) }},

{% endif -%}
events as (

    select
        attributed.event_id,
        attributed.event_name,
        attributed.occurred_at,
        attributed.received_at,
        attributed.person_id,
        attributed.account_id,
        attributed.platform,
        attributed.properties
    from {{ ref('int_events_attributed') }} as attributed
    {% if since is not none %}
        where
            attributed.person_id in (
                select changed.entity_id from changed where changed.entity_type = 'user'
            )
            or attributed.account_id in (
                select changed.entity_id from changed where changed.entity_type = 'account'
            )
    {% endif %}

),

moments as (

    select * from {{ ref('metric_moments') }}

),

matched as (

    select
        moments.moment_name,
        moments.entity_type,
        case
            when moments.entity_type = 'account' then events.account_id
            else events.person_id
        end as entity_id,
        events.account_id,
        events.event_id,
        events.occurred_at,
        events.received_at,
        events.platform
    from events
    inner join moments
        on
            events.event_name = moments.event_name
            and (
                moments.property_name is null
                or (
                    coalesce(moments.property_operator, '=') = '='
                    and {{ json_extract_scalar('events.properties', 'moments.property_name') }}
                    = moments.property_value
                )
                or (
                    moments.property_operator = '>'
                    and {{ try_cast(
                        json_extract_scalar('events.properties', 'moments.property_name'),
                        type_double()
                    ) }}
                    > {{ try_cast('moments.property_value', type_double()) }}
                )
            )

),

ranked as (

    select
        matched.*,
        row_number() over (
            partition by matched.entity_type, matched.entity_id, matched.moment_name
            order by matched.occurred_at, matched.event_id
        ) as reach_number,
        min(matched.received_at) over (
            partition by matched.entity_type, matched.entity_id, matched.moment_name
        ) as first_received_at
    from matched
    where
        matched.entity_id is not null
        {% if since is not none %}
            and exists (
                select 1 from changed
                where
                    changed.entity_type = matched.entity_type
                    and changed.entity_id = matched.entity_id
            )
        {% endif %}

),

final as (

    select
        entity_type || ':' || entity_id || ':' || moment_name as moment_reached_key,
        entity_type,
        entity_id,
        moment_name,
        account_id,
        occurred_at as reached_at,
        cast(occurred_at as date) as reached_date,
        platform as reached_platform,
        event_id as reached_event_id,
        first_received_at
    from ranked
    where reach_number = 1

)

select * from final
