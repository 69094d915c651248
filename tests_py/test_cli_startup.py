"""Every `lawn` command starts by importing lawn/cli.py and every sub-command module it
registers. Those imports stay light: the numeric and plotting libraries (pandas, statsmodels,
matplotlib, ...) are imported inside the commands that use them. When `cli_uplift` took its
default ridge from lawn/uplift_model.py and `cli_report` its paths from lawn/reports/run.py,
statsmodels, scipy, pandas and matplotlib loaded on every call: `lawn --help` took 3.6 s,
0.4 s after (and every `lawn build`, `lawn load`, ... paid the same 3.2 s)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pandas", "statsmodels", "matplotlib", "scipy", "numpy", "pyarrow", "duckdb", "dbt")


def _heavy_modules_after_import(module: str) -> list[str]:
    """The HEAVY top-level packages in sys.modules after importing ``module`` in a fresh
    interpreter."""
    code = f"import sys, {module}\nprint(' '.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_the_cli_and_its_sub_commands_import_no_heavy_library():
    assert _heavy_modules_after_import("lawn.cli") == []


def test_the_check_sees_a_heavy_import():
    # negative control: the uplift model module does load them at import
    assert {"statsmodels", "pandas"} <= set(_heavy_modules_after_import("lawn.uplift_model"))


def test_the_uplift_default_ridge_is_the_setting():
    from lawn import settings, uplift_model
    from lawn.cli_uplift import DEFAULT_RIDGE_OPTION

    assert uplift_model.DEFAULT_RIDGE == settings.UPLIFT_DEFAULT_RIDGE == float(DEFAULT_RIDGE_OPTION)
