"""The readout recovers the generator's planted effects: over 20 seeds, the 95% interval of
each experiment's primary metric covers the true lift (treatment) and zero (the holdout,
which sees the control experience) in at least 90% of runs. The 20 worlds are stacked
into one dataset (tests_py/multiworld.py) and read out by one dbt build."""

from __future__ import annotations

import pandas as pd
import pytest

from lawn.generator import GeneratorConfig
from tests_py.conftest import query, run_dbt
from tests_py.multiworld import stacked_worlds

SEEDS = range(101, 121)


@pytest.mark.slow
def test_intervals_cover_the_planted_effects(tmp_path):
    raw, truth = stacked_worlds([GeneratorConfig(seed=seed, accounts=80, days=90) for seed in SEEDS])
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    for name, frame in raw.items():
        frame.astype("string").to_parquet(raw_dir / f"{name}.parquet", index=False)
    db = tmp_path / "lawn.duckdb"
    run_dbt(
        ["build", "--select", "+fct_experiment_readouts", "--exclude-resource-type", "test", "unit_test"],
        db,
        tmp_path,
        raw_dir=raw_dir,
    )
    runs = query(
        db,
        "select experiment_id, variant, units, control_units, absolute_lift, ci_low, ci_high "
        "from marts.fct_experiment_readouts where is_primary_metric and variant <> 'control'",
    )
    truth = truth.set_index("experiment_id")
    runs["experiment"] = runs["experiment_id"].str.split("__").str[0]
    runs["true_lift"] = [
        truth.loc[row.experiment_id, "true_effect"] if row.variant == "treatment" else 0.0
        for row in runs.itertuples()
    ]
    runs["covered"] = (runs["ci_low"] <= runs["true_lift"]) & (runs["true_lift"] <= runs["ci_high"])
    coverage = runs.groupby(["experiment", "variant"])["covered"].agg(["mean", "size"])
    print(coverage, runs.groupby(["experiment", "variant"])[["units", "control_units"]].mean(), sep="\n")
    assert (coverage["size"] == len(SEEDS)).all(), coverage
    assert (coverage["mean"] >= 0.9).all(), coverage
    # centred on the truth, not merely covered by wide intervals
    treated = runs[runs["variant"] == "treatment"].groupby("experiment")
    bias = (treated["absolute_lift"].mean() - treated["true_lift"].mean()).abs()
    width = treated["ci_high"].mean() - treated["ci_low"].mean()
    assert (bias < width / 4).all(), pd.DataFrame({"bias": bias, "width": width})
