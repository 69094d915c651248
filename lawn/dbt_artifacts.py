"""dbt's JSON artefacts written once per run, by the C JSON encoder.

Measured on the demo project (dbt-core 1.11.16, 4 MB ``manifest.json``): of the ~4 s a small
``dbt run`` takes after its imports, ~1 s is each of the two writes of ``manifest.json``. A
``build``, ``run``, ``test``, ``seed`` or ``snapshot`` writes it once when the project is parsed
and again, with the same nodes, when the run ends (``GraphRunnableTask.run``); and dbt writes
every artefact with ``json.dump`` to the file, which always takes Python's pure-Python encoder
(the C encoder serves only ``json.dumps``).

:func:`install`, called in the processes that run dbt for lawn (the fork server's helper,
lawn/dbt_forkserver.py, and the in-process runs of lawn/dbt_runner.py), changes two things:

- the parse-time write is left out for those five commands, so their ``manifest.json`` and
  ``semantic_manifest.json`` are written once, at the end, as before (a run that stops with an
  exception before its end leaves the previous files; every other command, ``parse`` among
  them, writes at parse time as dbt does);
- artefacts are encoded with ``json.dumps`` and written in one piece: the same bytes (the two
  encoders give the same text for the same options; tests_py/test_dbt_artifacts.py compares
  them on a real manifest).

Both are patches of dbt internals of the pinned dbt-core (``~=1.11.16``): when the names they
patch are missing, nothing is patched and dbt runs as shipped."""

from __future__ import annotations

import json
from typing import IO, Any

# the commands whose task writes manifest.json again when it ends (dbt.task.runnable)
WRITES_AT_END = frozenset({"build", "run", "test", "seed", "snapshot"})

_STATE = {"installed": False}


class _OneShotJson:
    """The ``json`` module for dbt's artefact writer, with ``dump`` through ``dumps``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)

    @staticmethod
    def dump(obj: Any, fp: IO[str], **options: Any) -> None:
        fp.write(json.dumps(obj, **options))


def _command_name() -> str | None:
    """The dbt subcommand being run (``build``, ``parse``, ...), from click's context."""
    import click

    context = click.get_current_context(silent=True)
    return None if context is None or context.command is None else context.command.name


def install() -> bool:
    """Patch this process's dbt (once); whether the patches are in place."""
    if _STATE["installed"]:
        return True
    try:
        import dbt.parser.manifest as parser_manifest
        import dbt.task.docs.generate
        import dbt.task.runnable
        import dbt_common.clients.system as system
    except ImportError:
        return False
    original = getattr(parser_manifest, "write_manifest", None)
    # the tasks' own end-of-run writes must keep dbt's function: they bound it when imported
    # (above, before the patch)
    ends = (dbt.task.runnable, dbt.task.docs.generate)
    if original is None or any(getattr(m, "write_manifest", None) is not original for m in ends):
        return False
    if getattr(system, "json", None) is not json:
        return False

    def write_manifest(manifest: Any, target_path: str, which: str | None = None) -> None:
        # parse_manifest is this module's only caller of its own write_manifest (the tasks
        # import theirs): a command that writes again at its end skips this one
        if _command_name() in WRITES_AT_END:
            return
        original(manifest, target_path, which)

    parser_manifest.write_manifest = write_manifest
    system.json = _OneShotJson()  # type: ignore[assignment]
    _STATE["installed"] = True
    return True
