-- Every readout's intervals contain its point estimate, the always-valid interval is at
-- least as wide as the fixed-horizon one, and BH never lowers a p-value.
select *
from {{ ref('fct_experiment_readouts') }}
where
    variant <> 'control'
    and (
        ci_low > absolute_lift or ci_high < absolute_lift
        or cuped_ci_low > cuped_lift or cuped_ci_high < cuped_lift
        or sequential_ci_low > ci_low + 1e-12 or sequential_ci_high < ci_high - 1e-12
        or p_value_bh < p_value - 1e-12
    )
