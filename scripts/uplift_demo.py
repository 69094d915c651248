"""Uplift targeting against risk targeting on a planted world (issue 14 item 2).

Generates a world with the randomised retention offer (`lawn generate --action-effects`),
builds it, trains the churn model and the uplift model, then compares, on the uplift model's
held-out accounts, who would be offered the action:
- by uplift: the top decile by predicted uplift (fct_uplift_training_examples features);
- by risk: the top decile by the churn model's probability on the same feature day;
and measures each against the truth (truth_action_effects.csv: the churn probability the offer
removes, per exposure) as incremental retained accounts per 100 actions, and against the
randomised data itself (control churn minus treated churn inside each targeted group: the
holdout readout of the experiment restricted to the group).

Usage: .venv/bin/python scripts/uplift_demo.py [--accounts 3000] [--out data/bench/uplift]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lawn.churn_model import live_version, load_artefact, predict  # noqa: E402
from lawn.uplift import predict_uplift  # noqa: E402
from lawn.uplift_model import is_held_out  # noqa: E402


def run(command: list[str], env: dict) -> None:
    result = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[:3])} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--days", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "data" / "bench" / "uplift")
    args = parser.parse_args()
    out = args.out.resolve()
    db = out / "uplift.duckdb"
    env = dict(os.environ, LAWN_DUCKDB_PATH=str(db))
    lawn = str(Path(sys.executable).parent / "lawn")
    db.unlink(missing_ok=True)
    generate = [
        "generate",
        "--accounts",
        str(args.accounts),
        "--days",
        str(args.days),
        "--seed",
        str(args.seed),
    ]
    files = ["--format", "parquet", "--out-dir", str(out / "raw"), "--truth-dir", str(out / "truth")]
    run([lawn, *generate, "--action-effects", *files], env)
    run([lawn, "build", "--raw-dir", str(out / "raw"), "--full-refresh"], env)
    run([lawn, "model", "train", "--store", str(out / "churn")], env)
    run([lawn, "uplift", "train", "--store", str(out / "uplift")], env)

    with duckdb.connect(str(db), read_only=True) as con:
        examples = con.execute(
            "select * from marts.fct_uplift_training_examples where is_label_known order by account_id"
        ).df()
    truth = pd.read_csv(out / "truth" / "truth_action_effects.csv")
    first = truth.sort_values("exposure_date").drop_duplicates("account_id")[["account_id", "true_uplift"]]
    held = examples[examples["account_id"].map(is_held_out)].merge(first, on="account_id", how="inner")
    uplift_store = out / "uplift" / "retention_offer_uplift"
    uplift_params = load_artefact(uplift_store, live_version(uplift_store))["params"]
    churn_store = out / "churn"
    churn_spec = load_artefact(churn_store, live_version(churn_store))["spec"]
    held["predicted_uplift"] = predict_uplift(uplift_params, held)
    held["churn_risk"] = predict(held, churn_spec)
    k = max(1, len(held) // 10)
    rows = []
    for name, column in (("uplift", "predicted_uplift"), ("churn risk", "churn_risk"), ("everyone", None)):
        chosen = held if column is None else held.nlargest(k, column)
        treated, control = chosen[chosen["is_treated"]], chosen[~chosen["is_treated"]]
        observed = control["outcome"].mean() - treated["outcome"].mean()
        rows.append(
            {
                "targeting": name,
                "accounts": len(chosen),
                "true_retained_per_100": 100 * chosen["true_uplift"].mean(),
                "observed_retained_per_100": 100 * observed,
                "treated": len(treated),
                "control": len(control),
            }
        )
    print(f"held-out randomised accounts: {len(held)}; top decile: {k}")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    rho = held[["predicted_uplift", "true_uplift"]].corr("spearman").iloc[0, 1]
    print(f"Spearman(predicted, true uplift) = {rho:.3f}")
    print(np.round(held.groupby(held["segment"])[["predicted_uplift", "true_uplift"]].mean(), 4))


if __name__ == "__main__":
    main()
