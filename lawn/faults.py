"""Named crash points for the exactly-once tests: ``LAWN_FAULT_INJECT=name`` makes the code
raise at that point (``name:kill``: SIGKILL the process there). A no-op otherwise."""

from __future__ import annotations

import os
import signal

FAULT_ENV = "LAWN_FAULT_INJECT"


class InjectedFault(BaseException):
    """Raised at a named point when LAWN_FAULT_INJECT names it (fault-injection tests)."""


def fault_point(name: str) -> None:
    """Crash here when ``LAWN_FAULT_INJECT=name`` (raise InjectedFault, which no handler
    catches) or ``name:kill`` (SIGKILL this process). A no-op otherwise."""
    spec = os.environ.get(FAULT_ENV, "")
    kill = spec.endswith(":kill")
    if spec.removesuffix(":kill") != name:
        return
    if kill:
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedFault(f"injected fault at {name}")
