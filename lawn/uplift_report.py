"""The live uplift models as the nightly report shows them: the Qini (uplift) curve of each live
version on its held-out accounts, with its Qini coefficient and AUUC.

Reads the model store (lawn/model_store.py: which version is live, its parameters and the
figures its card recorded at training) and the public mart marts.fct_uplift_training_examples.
The held-out accounts are the keyed 30% the training left out (lawn.uplift_model.is_held_out),
so the curve is recomputed on exactly the units the card was judged on as long as the mart
still holds them; when it no longer does (a rebuilt warehouse), the card's recorded figures are
shown and said to be such."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from lawn import model_store
from lawn.churn_model import FEATURES
from lawn.uplift import evaluate, predict_uplift, qini_curve
from lawn.uplift_model import CATEGORICAL, is_held_out


@dataclass(frozen=True)
class UpliftView:
    model_id: str
    version: str
    learner: str
    recorded: dict  # the card's held-out figures at training (rows, qini_coefficient, auuc, ...)
    held_out_rows: int  # held-out accounts found in the mart today (0: none, figures as recorded)
    qini_coefficient: float
    auuc: float
    incremental_total: float
    curve: pd.DataFrame  # k, share_targeted, gain, random (empty when not recomputed)
    calibration: pd.DataFrame  # decile, units, predicted_uplift, observed_uplift


def live_models(store: Path) -> list[tuple[str, str]]:
    """(model id, live version) of every model under ``store`` with a live version."""
    if not store.is_dir():
        return []
    found = []
    for folder in sorted(path for path in store.iterdir() if (path / "live.json").exists()):
        live = model_store.registry(folder)["live"]
        if live:
            found.append((folder.name, live))
    return found


def _held_out(db_path: Path, model_id: str) -> pd.DataFrame:
    columns = ", ".join(["account_id", "is_treated", "outcome", *FEATURES, *CATEGORICAL])
    with duckdb.connect(str(db_path), read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts' "
            "and table_name = 'fct_uplift_training_examples'"
        ).fetchall()[0][0]
        if not exists:
            return pd.DataFrame()
        frame = con.execute(
            f"select {columns} from marts.fct_uplift_training_examples "
            "where uplift_model_id = ? and is_label_known order by account_id",
            [model_id],
        ).df()
    return frame[frame["account_id"].map(is_held_out)].reset_index(drop=True)


def view(db_path: Path, store: Path, model_id: str, version: str) -> UpliftView:
    """The live version's held-out figures, recomputed from the mart where it can be."""
    artefact = model_store.load_artefact(store / model_id, version)
    recorded = artefact["held_out"]
    held = _held_out(db_path, model_id)
    sign = int(artefact["benefit_sign"])
    base = dict(model_id=model_id, version=version, learner=artefact["learner"], recorded=recorded)
    if held.empty or held["is_treated"].nunique() < 2:
        return UpliftView(
            **base,
            held_out_rows=0,
            qini_coefficient=float(recorded["qini_coefficient"]),
            auuc=float(recorded["auuc"]),
            incremental_total=float(recorded["incremental_total"]),
            curve=pd.DataFrame(columns=["k", "share_targeted", "gain", "random"]),
            calibration=pd.DataFrame(recorded["calibration"]),
        )
    treated, outcome = held["is_treated"].astype(int).to_numpy(), held["outcome"].astype(int).to_numpy()
    uplift = predict_uplift(artefact["params"], held)
    figures = evaluate(uplift, treated, outcome, sign)
    curve = qini_curve(uplift, treated, outcome, sign)
    n = len(curve)
    curve["share_targeted"] = curve["k"] / n
    curve["random"] = figures["incremental_total"] * curve["k"] / n
    return UpliftView(
        **base,
        held_out_rows=len(held),
        qini_coefficient=figures["qini_coefficient"],
        auuc=figures["auuc"],
        incremental_total=figures["incremental_total"],
        curve=curve[["k", "share_targeted", "gain", "random"]],
        calibration=pd.DataFrame(figures["calibration"]),
    )


def load_views(db_path: Path, store: Path) -> tuple[list[UpliftView], list[str]]:
    """Every live model's view, and one line per live model that could not be read."""
    views, problems = [], []
    for model_id, version in live_models(store):
        try:
            views.append(view(db_path, store, model_id, version))
        except (ValueError, KeyError, OSError, duckdb.Error) as exc:  # ModelStoreError, UpliftError, bad JSON
            problems.append(f"uplift model {model_id} {version}: cannot be shown ({exc})")
    return views, problems


def qini_plot(found: UpliftView) -> bytes:
    """Incremental outcomes (benefit-signed) when the top share of held-out accounts by predicted
    uplift is targeted, against random targeting."""
    figure, axis = plt.subplots(figsize=(7, 3.4))
    curve = found.curve
    axis.plot(curve["share_targeted"], curve["gain"], label=f"{found.learner} (by predicted uplift)")
    axis.plot(curve["share_targeted"], curve["random"], "--", color="grey", label="random targeting")
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.set_xlabel("share of held-out accounts targeted (highest predicted uplift first)")
    axis.set_ylabel("incremental outcomes")
    axis.legend(fontsize=7)
    axis.set_title(
        f"{found.version}: Qini curve on {found.held_out_rows} held-out accounts\n"
        f"(Qini {found.qini_coefficient:.4f}, AUUC {found.auuc:.4f})",
        fontsize=8,
    )
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()
