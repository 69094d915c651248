"""A versioned model store on disk, shared by every model lawn trains (churn, uplift).

<store>/<version>/model.json holds the artefact (+ model_card.md); <store>/live.json names the
live version and the ones that were live before it, so ``rollback`` pops back to the previous
one. Nothing is deleted: a rolled-back version stays on disk and in the history of scores."""

from __future__ import annotations

import json
import os
from pathlib import Path


class ModelStoreError(ValueError):
    """No live model, no earlier version, or an unknown version (one line)."""


class NoLiveModel(ModelStoreError):
    """The store names no live version (no live.json yet, or none made live): a first model
    may be trained. A damaged live.json is a ModelStoreError, never this."""


def check_store(store: Path) -> Path:
    """``store`` can be a model store: not a file (NotADirectoryError after the training, exit 1)."""
    if store.exists() and not store.is_dir():
        raise ModelStoreError(f"--store {store}: is a file, not a model store's folder")
    return store


def _write_atomically(path: Path, text: str) -> None:
    """A kill during the write leaves the old file or the new one, never half of one (an empty
    live.json blocked every later command, a probe found)."""
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staged.write_text(text)
    os.replace(staged, path)


def save_artefact(store: Path, artefact: dict, card: str, make_live: bool = True) -> Path:
    """Write <store>/<version>/model.json and model_card.md; make the version live."""
    folder = check_store(store) / artefact["version"]
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomically(folder / "model.json", json.dumps(artefact, indent=2, default=str))
    _write_atomically(folder / "model_card.md", card)
    if make_live:
        set_live(store, artefact["version"])
    return folder


def registry(store: Path) -> dict:
    """<store>/live.json; a damaged one is named in one line (it was JSONDecodeError/TypeError)."""
    path = check_store(store) / "live.json"
    if not path.exists():
        return {"live": None, "history": []}
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelStoreError(
            f"{path}: not a readable model registry ({exc}); restore it or remove it"
        ) from None
    if (
        not isinstance(found, dict)
        or not isinstance(found.get("live"), str | None)
        or not isinstance(found.get("history", []), list)
    ):
        raise ModelStoreError(f'{path}: not a model registry (expected {{"live": ..., "history": [...]}})')
    found.setdefault("history", [])
    return found


def set_live(store: Path, version: str) -> None:
    found = registry(store)
    if found["live"]:
        found["history"].append(found["live"])
    found["live"] = version
    store.mkdir(parents=True, exist_ok=True)
    _write_atomically(store / "live.json", json.dumps(found, indent=2))


def live_version(store: Path, train_command: str) -> str:
    version = registry(store)["live"]
    if not version:
        raise NoLiveModel(f"no live model in {store}: run `{train_command}` first")
    return version


def rollback(store: Path) -> str:
    """Make the previous version live again; returns it."""
    found = registry(store)
    if not found["history"]:
        raise ModelStoreError(f"no earlier version in {store} to roll back to")
    previous = found["history"][-1]
    # the version must still be there (a deleted folder made the store unusable after exit 0)
    check_version(store, previous)
    found["history"].pop()
    found["live"] = previous
    _write_atomically(store / "live.json", json.dumps(found, indent=2))
    return found["live"]


def check_version(store: Path, version: str) -> str:
    """``version`` names a stored model version (a folder of ``store`` holding model.json):
    checked before a run that would score it (``--shadow``), not after the build."""
    if not version or Path(version).name != version or not (store / version / "model.json").is_file():
        raise ModelStoreError(f"no model version {version!r} in {store}")
    return version


def load_artefact(store: Path, version: str) -> dict:
    path = store / check_version(store, version) / "model.json"
    try:
        artefact = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelStoreError(f"{path}: not a readable model ({exc})") from None
    if not isinstance(artefact, dict):
        raise ModelStoreError(f"{path}: not a model artefact")
    return artefact
