#!/usr/bin/env bash
# Run every check: lint (ruff, sqlfluff), the full dbt build from scratch (models, data
# tests, unit tests) and pytest. Needs the .venv that scripts/setup.sh creates.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/lawn ]; then
    echo "error: .venv is missing; run 'bash scripts/setup.sh' first" >&2
    exit 2
fi
export PATH="$PWD/.venv/bin:$PATH"
# every phase's heading says when it starts (seconds since this script began), so a CI log
# shows where the time went (docs/test_cost.md)
phase() { echo "== $1 [t+${SECONDS}s]"; }

# The other engines' prerequisites install in the background while the lint and the DuckDB
# build run (on a clean machine they are downloads and Debian packages, not CPU): Debian's
# chromium (the report test opens the nightly report in headless Chromium), a PostgreSQL
# server with the governance roles (docs/postgres.md; tests_py/test_postgres.py builds the
# project there: skipped without a server, except in CI), Java 17 and the pinned
# pyspark/dbt-spark (docs/spark.md; tests_py/test_spark.py builds the `spark` selector on a
# local session: skipped without them, except in CI). One after the other (apt-get holds
# one lock); their output is printed when they are done, and pytest starts only after them.
prerequisites() {
    set -euo pipefail
    if ! command -v chromium >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            phase "installing Debian's chromium for the report test"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
        else
            echo "warning: no chromium; the report test will fail (apt-get install chromium)" >&2
        fi
    fi
    phase "PostgreSQL server"
    if [ "$(id -u)" = 0 ]; then
        bash scripts/postgres_ci.sh
    else
        echo "warning: not root, no PostgreSQL server started; tests_py/test_postgres.py will skip" >&2
    fi
    phase "Spark prerequisites"
    if [ "$(id -u)" = 0 ] || command -v java >/dev/null 2>&1; then
        bash scripts/spark_ci.sh
    else
        echo "warning: not root and no Java; tests_py/test_spark.py will skip" >&2
    fi
    phase "prerequisites installed"
}
prerequisites_log="$(mktemp)"
prerequisites >"$prerequisites_log" 2>&1 &
prerequisites_pid=$!
# a failed lint or build ends the script: an install under way is waited for, never cut off
trap 'wait "$prerequisites_pid" 2>/dev/null || true; rm -f "$prerequisites_log"' EXIT

phase "lint: ruff"
ruff check lawn tests_py scripts
ruff format --check lawn tests_py scripts
phase "dbt build (full refresh: seeds, models, data tests, unit tests)"
lawn build --full-refresh
# sqlfluff lints with the dbt templater, which compiles against the warehouse (macros that
# read it at compile time, incremental branches): so after the build, on a clean clone too
phase "lint: sqlfluff"
sqlfluff lint --processes 2 models tests analyses
phase "prerequisites (chromium, PostgreSQL, Spark): waiting"
prerequisites_status=0
wait "$prerequisites_pid" || prerequisites_status=$?
cat "$prerequisites_log"
phase "prerequisites ready"
if [ "$prerequisites_status" != 0 ]; then
    echo "error: installing the prerequisites failed (exit $prerequisites_status); their output is above" >&2
    exit 1
fi
phase "pytest"
# two workers, one test file each (session builds are made once per worker): the dbt
# builds are mostly single-threaded, so this halves the wall time on two cores. Files go
# out in collection order, which tests_py/conftest.py makes longest-first (the measured
# costs in tests_py/file_costs.csv); xdist's own reorder (by number of tests) is off, else
# the few-test, many-minute files come last and one worker idles at the end. Every duration
# of half a second or more is printed: scripts/test_file_costs.py turns a CI log into
# tests_py/file_costs.csv (the order above)
pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=0 --durations-min=0.5
phase "done"
