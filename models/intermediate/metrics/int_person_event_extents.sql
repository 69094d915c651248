{#- One row per person with events: when the person first signed up (signed_up), first
    created an invoice (feature_used with feature_name create_invoice, read as the public
    fct_events shows it: visible_property), and was last seen (any event). dim_users reads
    it instead of grouping every attributed event on every run.
    Incremental on DuckDB and PostgreSQL (a table on Spark): a run reads only the events
    int_events_attributed's change log added since this model's last run, and keeps per
    person the earlier firsts and the later last of them and the stored row. A person who
    lost an event (a move to another person, a row appended again with other content) is
    deleted by the pre-hook and computed again from all the person's events
    (docs/incremental_attribution.md, "The change log"). Without a usable log (first run, a
    full refresh of the events, an erasure or a retention run since, a gap of more than 30
    runs, feature_name masked or shown since) it rebuilds in full. -#}
-- depends_on: {{ ref('stg_tracking_plan__properties') }}
{%- set since = changes_since_consumed(person_extents_fingerprint()) %}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='person_id',
    on_schema_change='fail',
    pre_hook=[
        "{{ delete_all_to_rebuild(person_extents_fingerprint()) }}",
        "{{ delete_person_extents_to_recompute() }}",
    ],
    post_hook="{{ save_consumed_changes(person_extents_fingerprint()) }}"
) }}
{#- the stored rows' locator (as in int_moments_reached) -#}
{%- set locator = 'rowid' if target.type == 'duckdb' else 'event_id' %}
with

{% if since is not none %}
    added as (

        select changed.event_id
        from {{ changed_rows(since) }} as changed
        where changed.change_sign > 0

    ),

    recomputed as (

        -- persons who lost an event: deleted by the pre-hook, computed again from all their
        -- events
        {{ person_extents_to_recompute(since) }}

    ),

    needed as (

        -- a narrow read first (as int_moments_reached): the rows of the events the log added,
        -- and every row of a person to compute again
        select attributed.{{ locator }} as row_locator
        from {{ ref('int_events_attributed') }} as attributed
        where attributed.event_id in (select added.event_id from added)
        union
        select attributed.{{ locator }} as row_locator
        from {{ ref('int_events_attributed') }} as attributed
        inner join recomputed on attributed.person_id = recomputed.person_id

    ),
{% endif %}

events as (

    -- every attributed event of a person on a full build; only the rows above otherwise
    select
        attributed.person_id,
        attributed.event_name,
        attributed.occurred_at,
        attributed.properties
    from {{ ref('int_events_attributed') }} as attributed
    {% if since is none -%}
        where attributed.person_id is not null
    {%- else -%}
        where
            attributed.person_id is not null
            and attributed.{{ locator }} in (select needed.row_locator from needed)
    {%- endif %}

),

extents as (

    select
        person_id,
        min(case when event_name = 'signed_up' then occurred_at end) as signed_up_at,
        min(
            case
                when
                    event_name = 'feature_used'
                    and {{ visible_property('properties', 'feature_name') }} = 'create_invoice'
                    then occurred_at
            end
        ) as activated_at,
        max(occurred_at) as last_seen_at
    from events
    group by person_id

),

{% if since is not none %}
    merged as (

        -- the new events' extents and the stored row of the same person (none for a person
        -- computed again: the pre-hook deleted it)
        select
            combined.person_id,
            min(combined.signed_up_at) as signed_up_at,
            min(combined.activated_at) as activated_at,
            max(combined.last_seen_at) as last_seen_at
        from (
            select
                extents.person_id,
                extents.signed_up_at,
                extents.activated_at,
                extents.last_seen_at
            from extents
            union all
            select
                kept.person_id,
                kept.signed_up_at,
                kept.activated_at,
                kept.last_seen_at
            from {{ this }} as kept
            where kept.person_id in (select extents.person_id from extents)
        ) as combined
        group by combined.person_id

    ),
{% endif %}

final as (

    select
        person_id,
        signed_up_at,
        activated_at,
        last_seen_at
    from {{ 'merged' if since is not none else 'extents' }}

)

select * from final
