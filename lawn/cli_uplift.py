"""The uplift commands: `lawn uplift train|score|rollback` (lawn/uplift_model.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lawn.cli_common import fail, guarded, out
from lawn.paths import UPLIFT_STORE_DIR, duckdb_path
from lawn.settings import UPLIFT_DEFAULT_RIDGE

DEFAULT_RIDGE_OPTION = "auto" if UPLIFT_DEFAULT_RIDGE is None else str(UPLIFT_DEFAULT_RIDGE)


def parse_ridge(text: str) -> float | None:
    """--ridge: 'auto' (None: cross-validated) or a penalty >= 0; anything else exits 2."""
    if text.strip().lower() == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0:
        fail(f"--ridge must be 'auto' or a number >= 0, got {text!r}")
    return value


uplift_app = typer.Typer(help="Uplift models: who does an action help?", no_args_is_help=True)

ModelOption = Annotated[
    str, typer.Option("--model", help="Uplift model id (seeds/actions/uplift_models.csv).")
]
StoreOption = Annotated[Path, typer.Option(help="Folder of uplift model artefacts.")]
DbOption = Annotated[Path | None, typer.Option(help="The built warehouse.")]


@uplift_app.command("train")
@guarded
def uplift_train(
    model: ModelOption = "retention_offer_uplift",
    db: DbOption = None,
    learner: Annotated[str, typer.Option(help="dr_learner (default) or t_learner.")] = "dr_learner",
    store: StoreOption = UPLIFT_STORE_DIR,
    ridge: Annotated[
        str,
        typer.Option(
            help="Ridge penalty of the learner's regressions (>= 0), or 'auto': chosen by "
            "cross-validated log-loss of the arm models on the training accounts."
        ),
    ] = DEFAULT_RIDGE_OPTION,
) -> None:
    """Fit the model on its randomised experiment, judge it on held-out accounts, make it live."""
    from lawn.uplift import LEARNERS, UpliftError
    from lawn.uplift_model import train
    from lawn.warehouse import check_warehouse

    if learner not in LEARNERS:  # before the warehouse is read (it said "no labelled examples")
        fail(f"--learner must be one of {', '.join(LEARNERS)}, got {learner!r}")
    penalty = parse_ridge(ridge)
    db_path = db or duckdb_path()
    check_warehouse(db_path, write=False, must_exist=True)
    try:
        artefact = train(db_path, store, model, learner, penalty)
    except UpliftError as exc:
        fail(str(exc))
    held = artefact["held_out"]
    out.print(
        f"uplift model {artefact['version']} is live: {artefact['training_rows']} training accounts, "
        f"held-out Qini {held['qini_coefficient']:.5f}, AUUC {held['auuc']:.5f} "
        f"(card: {store / model / artefact['version'] / 'model_card.md'})"
    )


@uplift_app.command("score")
@guarded
def uplift_score(
    model: ModelOption = "retention_offer_uplift", db: DbOption = None, store: StoreOption = UPLIFT_STORE_DIR
) -> None:
    """Score every paying account on the newest day with the live version (ml.uplift_scores)."""
    from lawn.model_store import ModelStoreError
    from lawn.uplift import UpliftError
    from lawn.uplift_model import score
    from lawn.warehouse import writing

    db_path = db or duckdb_path()
    with writing(db_path, "lawn uplift score"):
        try:
            scores = score(db_path, store, model)
        except (UpliftError, ModelStoreError) as exc:
            fail(str(exc))
    out.print(f"{len(scores)} accounts scored by {model}; run `lawn build` to refresh fct_uplift_scores")


@uplift_app.command("rollback")
@guarded
def uplift_rollback(
    model: ModelOption = "retention_offer_uplift", store: StoreOption = UPLIFT_STORE_DIR
) -> None:
    """Make the previous version live again (re-score to let it drive)."""
    from lawn.model_store import ModelStoreError
    from lawn.uplift_model import rollback

    try:
        version = rollback(store, model)
    except ModelStoreError as exc:
        fail(str(exc))
    out.print(f"uplift model {model}: {version} is live again")
