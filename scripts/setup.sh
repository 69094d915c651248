#!/usr/bin/env bash
# Set up a virtualenv at .venv (pinned dependencies) and build the whole project into
# lawn.duckdb (LAWN_DUCKDB_PATH overrides): raw-file validation, seeds, models, tests.
# LAWN_SETUP_BUILD=0 installs only (.ci/run: scripts/test.sh rebuilds from scratch next).
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
    "$python_bin" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
if [ "${LAWN_SETUP_BUILD:-1}" = 0 ]; then
    echo "setup: installed; no build (LAWN_SETUP_BUILD=0)"
else
    .venv/bin/lawn build "$@"
fi
