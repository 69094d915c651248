"""What every command shares: the consoles and the one-line failure."""

from __future__ import annotations

import json
from typing import NoReturn

import typer
from rich.console import Console

err = Console(stderr=True)
out = Console(soft_wrap=True)  # long paths stay on one line (copy-paste, grep)


def fail(message: str) -> NoReturn:
    """Print a one-line error and exit with code 2 (bad input)."""
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True, highlight=False)
    raise typer.Exit(code=2)


def print_json(payload: object) -> None:
    """Machine-readable output on stdout (no colour, no wrapping)."""
    typer.echo(json.dumps(payload, indent=2, default=str))
