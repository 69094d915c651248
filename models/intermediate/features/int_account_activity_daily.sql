{#- Per account and day of receipt: counts of what the account did and was sent, by the
    day the warehouse received it (not the day it happened), so a feature built from
    these rows for day D only sees data received by the end of D. The SELECT is the macro
    account_activity_daily, which fct_account_features_daily also runs on the events it needs
    (an incremental run: the last weeks, without aggregating all history first). -#}
{#- On demand (tag on_demand, selectors.yml): no model reads this view, so `dbt build` and
    the nightly leave it and its key test out (at 10.2M the test recomputed the view over
    every event, 1.8-2.1 s per build). Select it to inspect the macro's rows. The grain is
    the macro's GROUP BY (account, receive day); fct_account_features_daily's key test would
    fail on a repeated (account, day), since its spine joins these rows on both. -#}
{{ config(tags=['on_demand']) }}
{{ account_activity_daily(ref('int_events_valid')) }}
