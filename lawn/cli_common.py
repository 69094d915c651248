"""What every command shares: the consoles, the one-line failure, and the guard that turns
any error a command did not handle into one line instead of a traceback."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from lawn.raw_loader import LoadReport

err = Console(stderr=True)
out = Console(soft_wrap=True)  # long paths stay on one line (copy-paste, grep)

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
# the shell's code for a command stopped by SIGINT (128 + 2)
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print a one-line error and exit with code 2 (bad input) or the code given."""
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True, highlight=False)
    raise typer.Exit(code=code)


AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Replay this UTC day (YYYY-MM-DD): only raw rows that had arrived by its end are used "
        "and it is the data day; always a full rebuild (docs/as_of.md). Default: all data.",
    ),
]


RawDirOption = Annotated[
    Path,
    typer.Option(
        "--raw-dir",
        help="Folder holding your raw files (CSV, Parquet or JSON Lines); default: the demo data.",
    ),
]
DbtVarsOption = Annotated[
    str | None,
    typer.Option("--vars", help="dbt vars as a JSON object, e.g. '{\"dq_min_daily_events\": 50}'."),
]


def as_of_day(value: str | None) -> dt.date | None:
    """The day of an --as-of value (None without one); a bad value exits 2 with one line."""
    from lawn.data_day import DataDayError, parse_as_of

    if value is None:
        return None
    try:
        return parse_as_of(value)
    except DataDayError as exc:
        fail(str(exc))


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def guarded(command: F) -> F:
    """Wrap a command: a bad path, key or warehouse (WarehouseError, HashKeyError) exits with
    its one-line message (2 for bad input, 1 otherwise); any other error is a failed step:
    one line, exit 1. Never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        import duckdb

        from lawn.identity_key import HashKeyError
        from lawn.warehouse import WarehouseError

        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:  # Ctrl-C: say so (it exited 130 with nothing printed)
            fail("interrupted (Ctrl-C): run the command again to complete it", EXIT_INTERRUPTED)
        except WarehouseError as exc:
            fail(str(exc), exc.exit_code)
        except HashKeyError as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        except duckdb.Error as exc:
            fail(f"warehouse error: {_one_line(exc)}", EXIT_FAILED)
        except Exception as exc:  # the last line of defence: one line, not a traceback
            fail(f"{type(exc).__name__}: {_one_line(exc)}", EXIT_FAILED)

    return wrapper  # type: ignore[return-value]


def _json_safe(value: object) -> object:
    """NaN and infinities as null: Python's json wrote a bare NaN, which no JSON parser reads."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def print_json(payload: object, nan_as_null: bool = False) -> None:
    """Machine-readable output on stdout (no colour, no wrapping); with ``nan_as_null``, NaN
    and infinities as null (the model commands: a bare NaN is no JSON; the readout keeps its
    NaN, which its consumers read with Python's json)."""
    safe = _json_safe(payload) if nan_as_null else payload
    typer.echo(json.dumps(safe, indent=2, default=str, allow_nan=not nan_as_null))


@contextlib.contextmanager
def bad_input(*errors: type[Exception]) -> Iterator[None]:
    """Inside the block, a domain error of these types is bad input: one line, exit 2."""
    try:
        yield
    except errors as exc:
        fail(str(exc))


def print_fields(payload: dict) -> None:
    """A flat result as aligned `key value` lines (floats to 8 significant digits)."""
    for key, value in payload.items():
        shown = f"{value:.8g}" if isinstance(value, float) else value
        out.print(f"{key:<24} {shown}", highlight=False)


def finish(
    payload: object,
    as_json: bool,
    render: Callable[[], None] | None = None,
    failed: bool = False,
) -> None:
    """The render-and-exit block every result command ends with: the payload as JSON on
    stdout with --json, otherwise the human rendering (``render``, or `key value` lines of a
    flat payload); then exit 1 when the command's own check failed (``failed``: e.g. the
    mart disagrees with Python), else return (exit 0)."""
    if as_json:
        print_json(payload)
    elif render is not None:
        render()
    elif isinstance(payload, dict):
        print_fields(payload)
    else:
        raise TypeError(f"no rendering for a {type(payload).__name__} payload")
    if failed:
        raise typer.Exit(code=EXIT_FAILED)


def dbt_vars_option(text: str | None) -> dict[str, object]:
    """The value of a `--vars` option: a JSON object of dbt var names and values (exit 2 if not)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        fail(f"--vars: not JSON ({exc})")
    if not isinstance(value, dict):
        fail("--vars: expected a JSON object of var names and values")
    return value


def print_landing_report(report: LoadReport) -> None:
    """A landing's outcome: a file the raw gate refuses is bad input (nothing landed, exit 2);
    otherwise one line per landed raw table."""
    if report.errors:
        for line in report.errors[1:]:
            err.print(f"[bold red]error:[/] {line}", soft_wrap=True, highlight=False)
        fail(report.errors[0])
    for landed in report.tables:
        source = landed.path.name if landed.path else "absent: empty table"
        out.print(f"raw.{landed.table.name:<20} {landed.rows:>10,} rows  ({source})", soft_wrap=True)
        for warning in landed.warnings:
            out.print(f"warning: {warning}", soft_wrap=True, markup=False, highlight=False)
