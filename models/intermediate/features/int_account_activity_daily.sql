{#- Per account and day of receipt: counts of what the account did and was sent, by the
    day the warehouse received it (not the day it happened), so a feature built from
    these rows for day D only sees data received by the end of D. The SELECT is the macro
    account_activity_daily, which fct_account_features_daily also runs on the events it needs
    (an incremental run: the last weeks, without aggregating all history first). -#}
{{ account_activity_daily(ref('int_events_valid')) }}
