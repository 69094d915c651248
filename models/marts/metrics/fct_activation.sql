{{ config(materialized='view') }}
{#- Whether and when each account and each person reached each moment and outcome of the
    outcome map (seeds/metrics), relative to their anchor; see int_activation_milestones.
    Activation rates are averages of is_reached_in_window over rows whose window is
    complete, e.g. 30-day activation of new enterprise trials = milestone
    first_invoice_sent, segment enterprise. A view over that table, not a second copy
    written on every build. -#}
select * from {{ ref('int_activation_milestones') }}
