#!/usr/bin/env bash
# The Spark target's prerequisites (CI and local), idempotent: a Java 17 runtime (as root,
# Debian's openjdk-17-jre-headless when no `java` is found) and the pinned Spark packages
# (requirements-spark.lock) in .venv. Run after scripts/setup.sh; tests_py/test_spark.py
# then builds the `spark` selector on a local Spark session (skipped without Java or
# pyspark, except in CI).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
    echo "spark_ci: $*" >&2
    exit 1
}

[ -x .venv/bin/python ] || fail ".venv is missing; run 'bash scripts/setup.sh' first"

if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
    [ "$(id -u)" = 0 ] || fail "no Java runtime; as root: apt-get install openjdk-17-jre-headless"
    command -v apt-get >/dev/null 2>&1 || fail "no Java runtime and no apt-get to install one"
    echo "== installing Debian's openjdk-17-jre-headless"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
java -version 2>&1 | head -n 1

.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-spark.lock
.venv/bin/python -c "import pyspark, dbt.adapters.spark; print('spark_ci: pyspark', pyspark.__version__)"
