-- The data day is one row, and nothing the build used arrived after it: no valid event was
-- received after the end of the data day, and in a replay (var as_of_date) no delivery in
-- staging was either. Returns one row per violation.
-- depends_on: {{ ref('stg_tracking__events') }}
with

data_day as (

    select
        data_day,
        last_received_at,
        {{ dbt.dateadd('day', 1, 'cast(data_day as ' ~ dbt.type_timestamp() ~ ')') }}
            as next_midnight
    from {{ ref('fct_data_day') }}

),

{%- if as_of_date() is not none %}

    deliveries as (

        select received_at from {{ ref('stg_tracking__events') }}

    ),

{%- endif %}

row_count as (

    select count(*) as data_day_rows from data_day

),

violations as (

    select
        'fct_data_day has '
        || cast(data_day_rows as {{ dbt.type_string() }})
        || ' rows' as violation
    from row_count
    where data_day_rows != 1

    union all

    select 'a valid event was received after the data day' as violation
    from data_day
    where last_received_at >= next_midnight

    {%- if as_of_date() is not none %}

        union all

        select 'a replay staged a delivery received after the data day' as violation
        from deliveries
        inner join data_day on deliveries.received_at >= data_day.next_midnight
    {%- endif %}

)

select * from violations
