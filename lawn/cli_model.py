"""The churn-model commands: `lawn model train|score|monitor|rollback`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lawn.cli_common import fail, guarded, out, print_json
from lawn.model_store import ModelStoreError, check_store
from lawn.paths import MODEL_STORE_DIR, duckdb_path

model_app = typer.Typer(help="The churn-risk model: train, score, monitor, roll back.", no_args_is_help=True)


def _store(store: Path) -> Path:
    """--store checked first: a file failed at the end of the work."""
    try:
        return check_store(store)
    except ModelStoreError as exc:
        fail(str(exc))


@model_app.command("train")
@guarded
def model_train(
    db: Annotated[Path | None, typer.Option(help="The built warehouse.")] = None,
    store: Annotated[Path, typer.Option(help="Where versions and live.json live.")] = MODEL_STORE_DIR,
    test_days: Annotated[int, typer.Option(help="Held-out last labelled days.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Train on older days, test on the newest, write artefact + model card, make it live."""
    from lawn.churn_model import ModelError, train
    from lawn.warehouse import check_warehouse

    if test_days < 1:
        fail(f"--test-days must be at least 1, got {test_days}")
    store = _store(store)
    db_path = db or duckdb_path()
    check_warehouse(db_path, write=False, must_exist=True)
    try:
        artefact = train(db_path, store, test_days)
    except ModelError as exc:
        fail(str(exc))
    if as_json:
        print_json({key: value for key, value in artefact.items() if key != "spec"}, nan_as_null=True)
        return
    card = store / artefact["version"] / "model_card.md"
    out.print(
        f"trained {artefact['version']} (live): test AUC {artefact['test_auc']:.3f} on "
        f"{artefact['test_rows']} held-out account-days; model card: {card}"
    )


@model_app.command("score")
@guarded
def model_score(
    db: Annotated[Path | None, typer.Option(help="The built warehouse.")] = None,
    store: Annotated[Path, typer.Option(help="Where versions and live.json live.")] = MODEL_STORE_DIR,
    shadow: Annotated[
        str | None, typer.Option(help="Also score this candidate version (drives nothing).")
    ] = None,
    date: Annotated[
        str | None, typer.Option(help="Score this feature day (YYYY-MM-DD) instead of the newest.")
    ] = None,
    since_training: Annotated[
        bool, typer.Option(help="Score every day after each version's training window (nightly).")
    ] = False,
) -> None:
    """Score into ml.churn_scores (the newest feature day by default), the version on every row."""
    import datetime as dt

    from lawn.churn_model import ModelError
    from lawn.churn_scoring import score

    try:
        day = dt.date.fromisoformat(date) if date is not None else None  # "" was ignored
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {date!r}")
    if shadow is not None and not shadow.strip():
        fail("--shadow is empty: give a stored model version")
    from lawn.warehouse import writing

    store = _store(store)
    db_path = db or duckdb_path()
    with writing(db_path, "lawn model score"):
        try:
            scores = score(db_path, store, shadow, day, since_training)
        except ModelError as exc:
            fail(str(exc))
    for version, group in scores.groupby("model_version"):
        out.print(
            f"{version}: {len(group)} account-days scored, mean risk {group['churn_probability'].mean():.4f}"
        )


@model_app.command("monitor")
@guarded
def model_monitor(
    db: Annotated[Path | None, typer.Option(help="The built warehouse.")] = None,
    store: Annotated[Path, typer.Option(help="Where versions and live.json live.")] = MODEL_STORE_DIR,
    shadow: Annotated[
        str | None, typer.Option(help="Also check this candidate version, to compare with the live one.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Feature drift (PSI vs the training window) and, where outcomes are known, AUC and
    calibration overall, by segment and by cohort; written to ml.model_monitoring."""
    from lawn.model_monitoring import monitor
    from lawn.warehouse import writing

    store = _store(store)
    if shadow is not None and not shadow.strip():
        fail("--shadow is empty: give a stored model version")
    db_path = db or duckdb_path()
    with writing(db_path, "lawn model monitor"):
        try:
            checks = monitor(db_path, store, shadow)
        except ValueError as exc:
            fail(str(exc))
    if as_json:
        print_json(
            checks.drop(columns="run_at").astype({"as_of_date": str}).to_dict(orient="records"),
            nan_as_null=True,
        )
        return
    for row in checks.itertuples():
        flag = "[bold red]FLAG[/]" if row.is_flagged else "ok"
        where = f"{row.slice_dimension}={row.slice_value}"
        out.print(f"{row.model_version:<24} {row.check_name:<16} {row.subject:<22} {where:<20} "
                  f"{row.metric_value:9.4f}  {flag}")  # fmt: skip


@model_app.command("rollback")
@guarded
def model_rollback(
    store: Annotated[Path, typer.Option(help="Where versions and live.json live.")] = MODEL_STORE_DIR,
) -> None:
    """Make the previous model version live again."""
    from lawn.churn_model import ModelError, rollback

    try:
        version = rollback(_store(store))
    except ModelError as exc:
        fail(str(exc))
    out.print(f"live model is now {version}")
