"""A shared store of dbt's parse result for runs that each get a fresh ``--target-path``.

dbt re-reads only the files that changed when its target folder holds the
``partial_parse.msgpack`` of an earlier parse; a fresh target folder means a full parse of the
whole project (about 10 s of CPU here, before any node runs). The test suite gives every build
its own folder, and so would any scheduler that keeps each run's artefacts apart: in one CI run
that was 325 full parses, about half of the suite's CPU time.

With ``LAWN_DBT_PARSE_CACHE`` set to a folder, :func:`seed` copies the newest stored parse of the
same project, vars and target into an empty target folder before dbt starts, and :func:`keep`
stores the folder's parse after dbt ends. Nothing is trusted blindly: dbt itself checks the
seeded file (its dbt version, vars, profile keys, the project's env vars and the checksum of every
file) and parses again whatever changed, so a stale or foreign entry costs a full parse, never a
wrong manifest. The key only keeps different vars or targets from overwriting each other. Writes
are atomic (a temporary file, then a rename), so parallel runs read a whole file or none.
Unset, empty or one of ``0``/``false``/``no``/``off`` (the default), nothing is read or written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

CACHE_ENV = "LAWN_DBT_PARSE_CACHE"
PARSE_FILE = "partial_parse.msgpack"
KEY_FILE = ".lawn_parse_key"  # beside PARSE_FILE: the key of the parse the folder holds


OFF_VALUES = {"", "0", "false", "no", "off"}  # read as "no cache", not as a folder named "0"


def cache_dir() -> Path | None:
    value = os.environ.get(CACHE_ENV, "").strip()
    return None if value.lower() in OFF_VALUES else Path(value)


def cache_key(
    project_dir: Path, dbt_vars: Mapping[str, object], args: Sequence[str], warehouse: str = ""
) -> str:
    """What dbt's own check would reject a parse for, as far as the caller knows it: the
    project, the command-line vars, the ``--target``/``--profile`` chosen and the warehouse
    path the profile is given (its values are part of dbt's check)."""
    args = list(args)
    chosen = {flag: args[args.index(flag) + 1] for flag in ("--target", "--profile") if flag in args[:-1]}
    parts = [str(Path(project_dir).resolve()), dict(dbt_vars), chosen, warehouse]
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _held_key(target_path: Path) -> str | None:
    try:
        return (target_path / KEY_FILE).read_text().strip() if (target_path / PARSE_FILE).exists() else None
    except OSError:
        return None


def seed(target_path: Path, key: str) -> bool:
    """Copy the stored parse for ``key`` into ``target_path`` unless the folder already holds
    a parse of that key (a folder shared by runs with other vars holds theirs); whether a file
    was copied."""
    store = cache_dir()
    stored = store / f"{key}.msgpack" if store is not None else None
    if stored is None or not stored.is_file() or _held_key(target_path) == key:
        return False
    target_path.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(stored, target_path / PARSE_FILE)
        (target_path / KEY_FILE).write_text(key)
    except OSError:
        return False  # a cache that cannot be read only costs the full parse
    return True


def keep(target_path: Path, key: str) -> bool:
    """Store ``target_path``'s parse under ``key`` when it differs from the stored one;
    whether it was stored."""
    store = cache_dir()
    produced = target_path / PARSE_FILE
    if store is None or not produced.is_file():
        return False
    stored = store / f"{key}.msgpack"
    try:
        (target_path / KEY_FILE).write_text(key)
        if stored.is_file() and stored.read_bytes() == produced.read_bytes():
            return False
        store.mkdir(parents=True, exist_ok=True)
        partial = store / f".{key}.{os.getpid()}.tmp"
        shutil.copyfile(produced, partial)
        os.replace(partial, stored)
    except OSError:
        return False
    return True
