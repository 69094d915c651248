"""A versioned model store on disk, shared by every model lawn trains (churn, uplift).

<store>/<version>/model.json holds the artefact (+ model_card.md); <store>/live.json names the
live version and the ones that were live before it, so ``rollback`` pops back to the previous
one. Nothing is deleted: a rolled-back version stays on disk and in the history of scores."""

from __future__ import annotations

import json
from pathlib import Path


class ModelStoreError(ValueError):
    """No live model, no earlier version, or an unknown version (one line)."""


def save_artefact(store: Path, artefact: dict, card: str, make_live: bool = True) -> Path:
    """Write <store>/<version>/model.json and model_card.md; make the version live."""
    folder = store / artefact["version"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.json").write_text(json.dumps(artefact, indent=2, default=str))
    (folder / "model_card.md").write_text(card)
    if make_live:
        set_live(store, artefact["version"])
    return folder


def registry(store: Path) -> dict:
    path = store / "live.json"
    return json.loads(path.read_text()) if path.exists() else {"live": None, "history": []}


def set_live(store: Path, version: str) -> None:
    found = registry(store)
    if found["live"]:
        found["history"].append(found["live"])
    found["live"] = version
    store.mkdir(parents=True, exist_ok=True)
    (store / "live.json").write_text(json.dumps(found, indent=2))


def live_version(store: Path, train_command: str) -> str:
    version = registry(store)["live"]
    if not version:
        raise ModelStoreError(f"no live model in {store}: run `{train_command}` first")
    return version


def rollback(store: Path) -> str:
    """Make the previous version live again; returns it."""
    found = registry(store)
    if not found["history"]:
        raise ModelStoreError(f"no earlier version in {store} to roll back to")
    found["live"] = found["history"].pop()
    (store / "live.json").write_text(json.dumps(found, indent=2))
    return found["live"]


def check_version(store: Path, version: str) -> str:
    """``version`` names a stored model version (a folder of ``store`` holding model.json):
    checked before a run that would score it (``--shadow``), not after the build."""
    if not version or Path(version).name != version or not (store / version / "model.json").is_file():
        raise ModelStoreError(f"no model version {version!r} in {store}")
    return version


def load_artefact(store: Path, version: str) -> dict:
    return json.loads((store / check_version(store, version) / "model.json").read_text())
