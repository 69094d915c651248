{% macro delete_changed_account_features() -%}
    {#- Pre-hook of fct_account_features_daily (docs/incremental_features.md). On an
        incremental run, delete the stored rows a full refresh could now compute differently:
        - the days from the start of the event lookback before the newest stored day on
          (`event_lookback_hours`): the event models rebuild the rows received in that window,
          so events received on those days may have changed;
        - days after the current data day (it moved back: the newest events were erased);
        - every row of an account whose creation day changed (a CRM export or an earlier
          first event moved it) or that is no longer an account: its spine changed.
        The model then computes the days after the newest kept day for the accounts with a
        row on it, and every day of every other account. A replay (var as_of_date) must not
        run incrementally: the table may hold later days. -#}
    {{- refuse_incremental_replay() -}}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            feature_date >= (
                select cast(
                    {{ dbt.dateadd(
                        'hour',
                        -1 * var('event_lookback_hours') | int,
                        'cast(max(feature_date) as ' ~ dbt.type_timestamp() ~ ')'
                    ) }}
                    as date
                )
                from {{ this }}
            )
            or feature_date > (select data_day from {{ ref('int_data_day') }})
            or account_id in (
                select stored.account_id
                from {{ this }} as stored
                left join {{ ref('int_accounts_combined') }} as accounts
                    on stored.account_id = accounts.account_id
                where
                    stored.feature_date = (select max(feature_date) from {{ this }})
                    and (
                        accounts.account_id is null
                        or {{ dbt.datediff(
                            'cast(accounts.created_at as date)', 'stored.feature_date', 'day'
                        ) }} <> stored.account_age_days
                    )
            )
    {%- endif -%}
{%- endmacro %}
