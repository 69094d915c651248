"""The one error of `lawn did`'s modules (a bad panel or option: one line, exit 2)."""

from __future__ import annotations


class PanelError(ValueError):
    """The panel cannot support the requested design (missing columns, no variation, ...)."""
