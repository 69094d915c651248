"""dbt's Jinja templates compiled once per machine, not once per process.

dbt renders every node and every macro it calls from Jinja source: ``get_template`` builds a
new environment and ``Environment.from_string`` parses the source, generates Python from it
and compiles that (``jinja2.Environment.compile``). Nothing of it outlives the process, so
every ``dbt build`` compiles the same templates again: on the demo world a run with no new
data made 1,551 compilations of 1,032 different sources, 3.5-3.8 s of one process's CPU held
under the GIL (of a 26 s run). docs/performance.md, "Jinja templates compiled once per
machine".

:func:`install` keeps each compiled code object in a file named by a digest of everything the
compilation reads: the source, the template's name and file name, ``raw`` and ``defer_init``;
the environment's class, code generator, extensions, lexer settings, ``autoescape``,
``optimized`` and ``is_async``; the names of its filters and tests and how each is called
(whether it is passed the context, the evaluation context or the environment), which the
generated code depends on; and the versions of Python, Jinja2 and dbt-common. A later
compilation of the same key loads the code object (``marshal``) instead of compiling. Only a
compilation that succeeded is kept: a template with a syntax error fails as before, with
dbt's own message. Rendering is unchanged: a template's globals, its context and every value
it reads (``env_var``, ``var``, relations) are bound when it runs, not when it is compiled.

The files are code, as ``__pycache__`` is, so the folder is the user's own (mode 0700; a
folder of another user's, or one others may write to, is not used: dbt compiles as without
the cache):
``LAWN_JINJA_CACHE_DIR``, else ``$XDG_CACHE_HOME/lawn/jinja``, else ``~/.cache/lawn/jinja``.
A file is written to a scratch name, then renamed into place, so a crash or a concurrent
process leaves no half file; an unreadable file is compiled again and replaced. Files not
used for 30 days are removed (at most once a day, by the first process that looks).
Deleting the folder is always safe. ``LAWN_JINJA_CACHE=0`` compiles as dbt does.

Only template *sources* reach the folder, never rendered values: a source with no Jinja
delimiter is compiled as before and never stored (``tests_py/test_dbt_jinja_cache.py`` puts
a secret through ``env_var`` and a rendered value and finds it in no file)."""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
import tempfile
import time
from pathlib import Path
from types import CodeType
from typing import Any

ENV_SWITCH = "LAWN_JINJA_CACHE"  # "0": compile as dbt does
DIR_VARIABLE = "LAWN_JINJA_CACHE_DIR"
KEEP_SECONDS = 30 * 86400  # a file unused this long is removed
PRUNE_EVERY_SECONDS = 86400
_DELIMITERS = ("{{", "{%", "{#")

_STATE: dict[str, Any] = {"installed": False, "hits": 0, "misses": 0}


def cache_dir() -> Path | None:
    """The folder of the compiled templates (see the module's docstring); None when there is
    no home folder to put it in (no ``HOME`` and no password entry): dbt then compiles as it
    does without the cache."""
    if os.environ.get(DIR_VARIABLE):
        return Path(os.environ[DIR_VARIABLE])
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError, OSError):
            return None
    return Path(base) / "lawn" / "jinja"


def _call_kind(function: Any) -> str:
    # how Jinja calls a filter or test: the generated code passes the context, the evaluation
    # context or the environment first when the function is marked so (jinja2.utils.pass_*)
    marker = getattr(function, "jinja_pass_arg", None)
    return getattr(marker, "name", "") if marker is not None else ""


def environment_fingerprint(environment: Any) -> str:
    """Everything of an environment that the code Jinja generates for a source depends on."""
    lexer = tuple(
        str(getattr(environment, name, None))
        for name in (
            "block_start_string", "block_end_string", "variable_start_string",
            "variable_end_string", "comment_start_string", "comment_end_string",
            "line_statement_prefix", "line_comment_prefix", "trim_blocks", "lstrip_blocks",
            "newline_sequence", "keep_trailing_newline",
        )
    )  # fmt: skip
    cls = type(environment)
    generator = getattr(environment, "code_generator_class", None)
    parts = [
        f"{cls.__module__}.{cls.__qualname__}",
        f"{getattr(generator, '__module__', '')}.{getattr(generator, '__qualname__', '')}",
        "|".join(sorted(getattr(environment, "extensions", {}))),
        "|".join(lexer),
        repr(environment.autoescape) if not callable(environment.autoescape) else "callable",
        str(getattr(environment, "optimized", None)),
        str(getattr(environment, "is_async", None)),
        str(getattr(environment, "finalize", None) is not None),
        "|".join(f"{k}:{_call_kind(v)}" for k, v in sorted(environment.filters.items())),
        "|".join(f"{k}:{_call_kind(v)}" for k, v in sorted(environment.tests.items())),
    ]
    return "\x1f".join(parts)


def _versions() -> str:
    import jinja2

    try:
        from importlib.metadata import version

        common = version("dbt-common")
    except Exception:  # unknown version: a key of its own
        common = "unknown"
    return f"{sys.version}|{jinja2.__version__}|{common}"


def cache_key(environment: Any, source: str, name: str | None, filename: str | None,
              raw: bool, defer_init: bool) -> str:  # fmt: skip
    digest = hashlib.sha256()
    for part in (_STATE.get("versions") or _versions(), environment_fingerprint(environment),
                 str(name), str(filename), str(raw), str(defer_init), source):  # fmt: skip
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _load(path: Path) -> CodeType | None:
    with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
        code = marshal.loads(path.read_bytes())
        if isinstance(code, CodeType):
            with contextlib.suppress(OSError):
                os.utime(path)  # used: kept another 30 days
            return code
    return None


def _store(path: Path, code: CodeType) -> None:
    with contextlib.suppress(OSError, ValueError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, scratch = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(marshal.dumps(code))
            os.replace(scratch, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(scratch)
            raise


def prune(folder: Path, now: float | None = None) -> int:
    """Remove the files unused for KEEP_SECONDS (once a day at most); how many were removed."""
    now = time.time() if now is None else now
    marker = folder / ".pruned"
    with contextlib.suppress(OSError):
        if now - marker.stat().st_mtime < PRUNE_EVERY_SECONDS:
            return 0
    removed = 0
    with contextlib.suppress(OSError):
        marker.touch()
        os.utime(marker, (now, now))
        for shard in folder.iterdir():
            if not shard.is_dir():
                continue
            for entry in shard.iterdir():
                with contextlib.suppress(OSError):
                    if now - entry.stat().st_mtime > KEEP_SECONDS:
                        entry.unlink()
                        removed += 1
    return removed


def trusted(folder: Path) -> bool:
    """Whether code may be loaded from ``folder``: it is this user's and nobody else may write
    to it (the files are code, run as this user). A folder that does not exist yet is made
    with mode 0700. Decided once per folder and process."""
    verdicts: dict[str, bool] = _STATE.setdefault("trusted", {})
    if str(folder) not in verdicts:
        verdict = False
        with contextlib.suppress(OSError):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            status = folder.stat()
            verdict = status.st_uid == os.getuid() and not status.st_mode & 0o022
        verdicts[str(folder)] = verdict
    return verdicts[str(folder)]


def cached_compile(original: Any, environment: Any, source: Any, name: str | None,
                   filename: str | None, raw: bool, defer_init: bool) -> Any:  # fmt: skip
    """``original`` (Jinja's compile) through the folder of compiled templates."""
    from dbt_common.clients import jinja as dbt_jinja

    if (
        raw
        or not isinstance(source, str)
        or not any(delimiter in source for delimiter in _DELIMITERS)
        or getattr(dbt_jinja, "MACRO_DEBUGGING", False)  # dbt writes the source for debugging
        or os.environ.get(ENV_SWITCH, "1") == "0"  # read per call: a fork server's child too
    ):
        return original(environment, source, name, filename, raw, defer_init)
    folder = cache_dir()
    if folder is None or not trusted(folder):
        return original(environment, source, name, filename, raw, defer_init)
    key = cache_key(environment, source, name, filename, raw, defer_init)
    path = folder / key[:2] / key[2:]
    code = _load(path)
    if code is not None:
        _STATE["hits"] += 1
        return code
    code = original(environment, source, name, filename, raw, defer_init)
    _STATE["misses"] += 1
    if isinstance(code, CodeType):
        _store(path, code)
    return code


def install() -> bool:
    """Patch the compilation of dbt's Jinja environments in this process (once); whether the
    patch is in place. Nothing is patched when dbt-common's environment class is missing."""
    if _STATE["installed"]:
        return True
    try:
        from dbt_common.clients import jinja as dbt_jinja
    except ImportError:
        return False
    environment_class = getattr(dbt_jinja, "MacroFuzzEnvironment", None)
    original = getattr(environment_class, "compile", None)
    if environment_class is None or original is None:
        return False
    _STATE["versions"] = _versions()
    folder = cache_dir()
    if folder is not None and trusted(folder):  # trusted() makes a missing folder, mode 0700
        prune(folder)

    def compile(self: Any, source: Any, name: str | None = None, filename: str | None = None,
                raw: bool = False, defer_init: bool = False) -> Any:  # fmt: skip
        return cached_compile(original, self, source, name, filename, raw, defer_init)

    environment_class.compile = compile
    _STATE["installed"] = True
    return True


def counts() -> tuple[int, int]:
    """(compilations loaded from the folder, compilations made) in this process."""
    return _STATE["hits"], _STATE["misses"]
