"""Uplift targeting against risk targeting on planted worlds (issue 14 item 2; docs/uplift.md).

For each seed: generates a world with the randomised retention offer (`lawn generate
--action-effects`), loads it and builds the lineage of the two training marts
(fct_churn_training_examples, fct_uplift_training_examples), trains the churn model (`lawn
model train`) and the uplift model (`lawn uplift train`, whose card has Qini/AUUC on its keyed
30% held-out accounts), then compares, on the randomised accounts, who would get the offer:

- by uplift: the top decile by cross-fitted predicted uplift (5 keyed folds, the learner and
  features of `lawn uplift train`: every account is scored by a model that never saw it);
- by churn risk: the top decile by the live churn model's probability on the same feature day;
- at random: everyone (the expected value of random targeting);
- for reference, by the planted baseline churn probability (a perfect churn model).

Each is measured against the truth (truth_action_effects.csv: the churn probability the offer
removes, at the account's first exposure) as incremental retained accounts per 100 actions,
and by the holdout readout (the experiment's control arm is a random holdout inside each
targeted group; lawn.readout.compare_arms, retained share treated minus control, 95% CI).
Summaries over the seeds: mean and standard deviation; the readout also pooled over worlds.

Usage: nice -n 10 .venv/bin/python scripts/uplift_demo.py [--accounts 3000] [--seeds 12 13 14 15 16]
       [--out data/bench/uplift] [--learner t_learner] [--ridge auto] [--reuse]
(3-4 minutes a world on the shared machine, 6+ when it is loaded; docs/uplift.md has the figures)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lawn.churn_model import FEATURES, live_version, load_artefact, predict  # noqa: E402
from lawn.dbt_runner import run_dbt  # noqa: E402
from lawn.identity_key import install_key, resolve_key  # noqa: E402
from lawn.readout import compare_arms  # noqa: E402
from lawn.uplift import evaluate  # noqa: E402
from lawn.uplift_model import CATEGORICAL  # noqa: E402
from lawn.uplift_targeting import cross_fitted_uplift, targeting_table, top_group  # noqa: E402
from lawn.validate_raw import load_raw  # noqa: E402

MODEL_ID = "retention_offer_uplift"
MARTS = ["+fct_churn_training_examples", "+fct_uplift_training_examples"]


def run(command: list[str], env: dict) -> None:
    result = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[:3])} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def build_world(out: Path, accounts: int, days: int, seed: int, learner: str, ridge: str) -> None:
    """Generate, load, build the two marts' lineage, train both models (into ``out``)."""
    db = out / "uplift.duckdb"
    env = dict(os.environ, LAWN_DUCKDB_PATH=str(db))
    lawn = str(Path(sys.executable).parent / "lawn")
    db.unlink(missing_ok=True)
    run(
        [
            *[lawn, "generate", "--accounts", str(accounts), "--days", str(days), "--seed", str(seed)],
            *["--action-effects", "--format", "parquet"],
            *["--out-dir", str(out / "raw"), "--truth-dir", str(out / "truth")],
        ],
        env,
    )
    report = load_raw(out / "raw", db)
    if not report.ok:
        sys.exit(f"loading {out / 'raw'} failed: {report.errors[:3]}")
    install_key(db, resolve_key(dev=True))
    # the marts' lineage only (data tests excluded: this is a measurement, CI tests the models)
    dbt = run_dbt(
        ["build", "--select", *MARTS, "--exclude-resource-type", "test", "unit_test"],
        db,
        target_path=out / "target",
        log_path=out / "logs",
    )
    if dbt.returncode != 0:
        sys.exit(f"dbt build failed:\n{dbt.stdout[-3000:]}")
    run([lawn, "model", "train", "--store", str(out / "churn")], env)
    run(
        [lawn, "uplift", "train", "--store", str(out / "uplift"), "--learner", learner, "--ridge", ridge],
        env,
    )


def randomised_units(out: Path) -> pd.DataFrame:
    """The labelled randomised accounts of the mart, with the truth of their first exposure."""
    with duckdb.connect(str(out / "uplift.duckdb"), read_only=True) as con:
        units = con.execute(
            "select * from marts.fct_uplift_training_examples "
            "where uplift_model_id = ? and is_label_known order by account_id",
            [MODEL_ID],
        ).df()
    units = units.assign(treated=units["is_treated"].astype(int), outcome=units["outcome"].astype(int))
    truth = pd.read_csv(out / "truth" / "truth_action_effects.csv")
    first = truth.sort_values(["exposure_date", "account_id"]).drop_duplicates("account_id")
    columns = ["account_id", "true_uplift", "response_type", "baseline_churn_probability"]
    return units.merge(first[columns], on="account_id", how="inner")


def analyse(out: Path, learner: str, ridge: str, folds: int, share: float) -> dict:
    units = randomised_units(out)
    sign = int(units["benefit_sign"].iloc[0])
    churn_store = out / "churn"
    churn_spec = load_artefact(churn_store, live_version(churn_store))["spec"]
    units["churn_risk"] = predict(units, churn_spec)
    units["predicted_uplift"] = cross_fitted_uplift(
        units,
        list(FEATURES),
        CATEGORICAL,
        sign,
        learner=learner,
        ridge=None if ridge == "auto" else float(ridge),
        folds=folds,
    )
    uplift_store = out / "uplift" / MODEL_ID
    card = load_artefact(uplift_store, live_version(uplift_store))
    t, y = units["treated"].to_numpy(), units["outcome"].to_numpy()
    by_uplift = evaluate(units["predicted_uplift"].to_numpy(), t, y, sign)
    by_risk = evaluate(units["churn_risk"].to_numpy(), t, y, sign)
    rankings = {
        "uplift": "predicted_uplift",
        "churn risk": "churn_risk",
        # the planted baseline: a perfect churn model (truth-informed, for reference only)
        "true churn risk": "baseline_churn_probability",
    }
    table = targeting_table(units, rankings, share, sign)
    top = {name: top_group(units, column, share) for name, column in rankings.items()}
    mix = {name: group["response_type"].value_counts().to_dict() for name, group in top.items()}
    return {
        "units": units,
        "table": table,
        "top": top,
        "mix": mix,
        "held_out_card": card.get("held_out", {}),
        "crossfit": {
            "qini_uplift": by_uplift["qini_coefficient"],
            "auuc_uplift": by_uplift["auuc"],
            "qini_risk": by_risk["qini_coefficient"],
            "auuc_risk": by_risk["auuc"],
        },
        "spearman": float(units[["predicted_uplift", "true_uplift"]].corr("spearman").iloc[0, 1]),
    }


def pooled_readout(groups: list[pd.DataFrame], sign: int) -> dict:
    both = pd.concat(groups)
    wanted = both["outcome"] if sign == 1 else 1 - both["outcome"]
    units = pd.DataFrame({"metric_value": wanted.astype(float).to_numpy(), "denominator_value": 1.0})
    arm = both["treated"].to_numpy() == 1
    row = compare_arms(units[arm], units[~arm], "proportion")
    return {"lift": 100 * row["absolute_lift"], "low": 100 * row["ci_low"], "high": 100 * row["ci_high"]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--days", type=int, default=150)
    parser.add_argument("--seeds", type=int, nargs="+", default=[12, 13, 14, 15, 16])
    parser.add_argument("--out", type=Path, default=REPO / "data" / "bench" / "uplift")
    parser.add_argument("--learner", default="t_learner", choices=["t_learner", "dr_learner"])
    parser.add_argument("--ridge", default="auto", help="a penalty, or auto (cross-validated)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--share", type=float, default=0.1, help="share of accounts targeted (top decile)")
    parser.add_argument("--reuse", action="store_true", help="reuse worlds already built under --out")
    args = parser.parse_args()
    pd.set_option("display.width", 160)
    results, summary = {}, []
    for seed in args.seeds:
        out = (args.out / f"a{args.accounts}_d{args.days}_s{seed}").resolve()
        started = time.monotonic()
        reused = args.reuse and (out / "uplift.duckdb").exists()
        if not reused:
            build_world(out, args.accounts, args.days, seed, args.learner, args.ridge)
        built = np.nan if reused else time.monotonic() - started
        result = analyse(out, args.learner, args.ridge, args.folds, args.share)
        results[seed] = result
        card, cross = result["held_out_card"], result["crossfit"]
        how = "reused" if reused else f"{built:.0f} s to build"
        print(f"\n== seed {seed}: {args.accounts} accounts, {args.days} days ({how}) ==")
        print(
            f"randomised labelled accounts: {len(result['units'])}; targeted (top {args.share:.0%}): "
            f"{result['table']['accounts'].iloc[0]}"
        )
        if card:
            print(
                f"lawn uplift train ({args.learner}, ridge {args.ridge}), keyed 30% held out "
                f"({card['rows']} accounts): Qini {card['qini_coefficient']:.4f}, AUUC {card['auuc']:.4f}"
            )
        print(
            f"cross-fitted ({args.folds} folds, all randomised accounts): Qini {cross['qini_uplift']:.4f} "
            f"AUUC {cross['auuc_uplift']:.4f} ranking by uplift; Qini {cross['qini_risk']:.4f} "
            f"AUUC {cross['auuc_risk']:.4f} ranking by churn risk; "
            f"Spearman(predicted, true uplift) {result['spearman']:.3f}"
        )
        print(result["table"].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        print("response types in the top decile:", result["mix"])
        row = result["table"].set_index("targeting")
        summary.append(
            {
                "seed": seed,
                "units": len(result["units"]),
                "true_uplift": row.loc["uplift", "true_per_100"],
                "true_risk": row.loc["churn risk", "true_per_100"],
                "true_random": row.loc["random", "true_per_100"],
                "true_perfect_risk": row.loc["true churn risk", "true_per_100"],
                "readout_uplift": row.loc["uplift", "readout_per_100"],
                "readout_risk": row.loc["churn risk", "readout_per_100"],
                "readout_random": row.loc["random", "readout_per_100"],
                "qini_uplift": cross["qini_uplift"],
                "qini_risk": cross["qini_risk"],
                "auuc_uplift": cross["auuc_uplift"],
                "auuc_risk": cross["auuc_risk"],
                "held_out_qini": card.get("qini_coefficient", np.nan),
                "held_out_auuc": card.get("auuc", np.nan),
                "spearman": result["spearman"],
                "build_seconds": built,
            }
        )
    frame = pd.DataFrame(summary)
    frame["uplift_minus_risk"] = frame["true_uplift"] - frame["true_risk"]
    print(f"\n== over {len(frame)} seeds (per 100 actions; mean, sd) ==")
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    stats = frame.drop(columns=["seed"]).agg(["mean", "std", "min", "max"]).T
    print(stats.to_string(float_format=lambda v: f"{v:.3f}"))
    sign = int(results[args.seeds[0]]["units"]["benefit_sign"].iloc[0])
    for name in ("uplift", "churn risk"):
        pooled = pooled_readout([result["top"][name] for result in results.values()], sign)
        print(
            f"holdout readout pooled over the seeds' top deciles by {name}: {pooled['lift']:.2f} "
            f"retained per 100 actions (95% CI {pooled['low']:.2f} to {pooled['high']:.2f})"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / f"summary_a{args.accounts}_d{args.days}_{args.learner}.csv", index=False)


if __name__ == "__main__":
    main()
