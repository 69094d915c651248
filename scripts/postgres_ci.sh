#!/usr/bin/env bash
# A PostgreSQL server for lawn's `postgres` target (CI and local), idempotent: run it as
# often as you like. As root it installs Debian's `postgresql` package when no server
# binaries exist, creates a cluster owned by the postgres user (listening on 127.0.0.1 only,
# on its own port and socket directory, so it never clashes with a system cluster), starts
# it, and creates the database, the governance roles and the logins:
#
#   group roles (nologin): loader, transformer, analyst, pii_reader, vendor
#   logins: lawn_dbt (transformer: dbt builds as it, objects owned by transformer),
#           lawn_loader (loader: writes the raw schema), lawn_analyst, lawn_pii_reader,
#           lawn_vendor (one per reading role, for the access tests)
#
# Passwords are random, made once and kept with the cluster (never in the repository), in
# $LAWN_PG_DIR/lawn-pg.env; `source` that file to get the LAWN_PG_* variables profiles.yml
# and the tests read. Settings: LAWN_PG_PORT (default 55433), LAWN_PG_DIR (default
# /var/tmp/lawn-postgres-$LAWN_PG_PORT), LAWN_PG_DATABASE (default lawn).
set -euo pipefail

port="${LAWN_PG_PORT:-55433}"
host=127.0.0.1
base="${LAWN_PG_DIR:-/var/tmp/lawn-postgres-$port}"
database="${LAWN_PG_DATABASE:-lawn}"
data="$base/data"
socket_dir="$base/run"
env_file="$base/lawn-pg.env"

fail() {
    echo "postgres_ci: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || fail "run as root (it installs packages and runs the server as the postgres user)"

server_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$dir" ] && [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
    fi
}

bin="$(server_bin)"
if [ -z "$bin" ] || ! id postgres >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || fail "no PostgreSQL server binaries and no apt-get to install them"
    echo "== installing Debian's postgresql"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >/dev/null
    bin="$(server_bin)"
    [ -n "$bin" ] || fail "postgresql installed but no /usr/lib/postgresql/*/bin/postgres"
fi

as_postgres() {
    # from a folder the postgres user may enter (not the root-owned checkout)
    (cd "$base" && runuser -u postgres -- "$@")
}

mkdir -p "$base" "$socket_dir"
chown postgres:postgres "$base" "$socket_dir"
chmod 0755 "$base" "$socket_dir"

if [ ! -s "$data/PG_VERSION" ]; then
    echo "== initdb $data"
    mkdir -p "$data"
    chown postgres:postgres "$data"
    chmod 0700 "$data"
    as_postgres "$bin/initdb" -D "$data" -U postgres -E UTF8 --no-locale \
        --auth-local=peer --auth-host=scram-sha-256 >/dev/null
fi

# settings rewritten on every run (a throw-away test cluster: durability off, JIT off: with it
# on a large query can sit for minutes in LLVM compilation, see shared/PORTABILITY.md)
cat >"$data/lawn.conf" <<EOF
listen_addresses = '$host'
port = $port
unix_socket_directories = '$socket_dir'
timezone = 'UTC'
jit = off
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 40
shared_buffers = 128MB
work_mem = 32MB
password_encryption = 'scram-sha-256'
EOF
chown postgres:postgres "$data/lawn.conf"
grep -q "^include_if_exists = 'lawn.conf'" "$data/postgresql.conf" ||
    echo "include_if_exists = 'lawn.conf'" >>"$data/postgresql.conf"

if ! "$bin/pg_isready" -q -h "$socket_dir" -p "$port"; then
    echo "== starting PostgreSQL on $host:$port"
    as_postgres "$bin/pg_ctl" -D "$data" -l "$base/server.log" -w -t 60 start >/dev/null ||
        fail "server did not start; see $base/server.log"
fi

# passwords: made once, kept beside the cluster (0600), never in the repository
if [ ! -s "$env_file" ]; then
    secret() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
    umask 077
    cat >"$env_file" <<EOF
export LAWN_PG_HOST=$host
export LAWN_PG_PORT=$port
export LAWN_PG_DATABASE=$database
export LAWN_PG_USER=lawn_dbt
export LAWN_PG_PASSWORD=$(secret)
export LAWN_PG_LOADER_USER=lawn_loader
export LAWN_PG_LOADER_PASSWORD=$(secret)
export LAWN_PG_ANALYST_USER=lawn_analyst
export LAWN_PG_ANALYST_PASSWORD=$(secret)
export LAWN_PG_PII_READER_USER=lawn_pii_reader
export LAWN_PG_PII_READER_PASSWORD=$(secret)
export LAWN_PG_VENDOR_USER=lawn_vendor
export LAWN_PG_VENDOR_PASSWORD=$(secret)
EOF
fi
# shellcheck disable=SC1090
source "$env_file"

psql_admin() {
    as_postgres env PGOPTIONS='-c client_min_messages=warning' "$bin/psql" -X -q -h "$socket_dir" -p "$port" -v ON_ERROR_STOP=1 "$@"
}

# the database lawn builds in, and three more with the same set-up for the tests that build
# beside test_postgres.py in CI: the nightly's (tests_py/test_nightly_postgres.py), the
# one-day increment's (tests_py/test_postgres_increment.py) and the hand-written feed's
# (tests_py/test_metric_marts_handwritten.py)
for db in "$database" "${database}_nightly" "${database}_increment" "${database}_handwritten"; do
psql_admin -d postgres \
    -v database="$db" \
    -v dbt_password="$LAWN_PG_PASSWORD" \
    -v loader_password="$LAWN_PG_LOADER_PASSWORD" \
    -v analyst_password="$LAWN_PG_ANALYST_PASSWORD" \
    -v pii_reader_password="$LAWN_PG_PII_READER_PASSWORD" \
    -v vendor_password="$LAWN_PG_VENDOR_PASSWORD" <<'SQL'
-- group roles: hold privileges, cannot log in
select format('create role %I nologin', role_name)
from unnest(array['loader', 'transformer', 'analyst', 'pii_reader', 'vendor']) as role_name
where not exists (select 1 from pg_roles where rolname = role_name)
\gexec
-- logins: one per role (lawn_dbt is the transformer dbt connects as)
select format('create role %I login', login_name)
from unnest(array['lawn_dbt', 'lawn_loader', 'lawn_analyst', 'lawn_pii_reader', 'lawn_vendor']) as login_name
where not exists (select 1 from pg_roles where rolname = login_name)
\gexec
alter role lawn_dbt password :'dbt_password';
alter role lawn_loader password :'loader_password';
alter role lawn_analyst password :'analyst_password';
alter role lawn_pii_reader password :'pii_reader_password';
alter role lawn_vendor password :'vendor_password';
grant transformer to lawn_dbt;
grant loader to lawn_loader;
grant analyst to lawn_analyst;
grant pii_reader to lawn_pii_reader;
grant vendor to lawn_vendor;
-- every session of the dbt and loader logins acts as its group role from the start, so what
-- they create belongs to transformer / loader (dbt-postgres' own `set role` sits in a
-- transaction that dbt may roll back)
alter role lawn_dbt set role = 'transformer';
alter role lawn_loader set role = 'loader';
select format('create database %I owner transformer', :'database')
where not exists (select 1 from pg_database where datname = :'database')
\gexec
select format('revoke all on database %I from public', :'database')
\gexec
select format('grant connect on database %I to loader, transformer, analyst, pii_reader, vendor', :'database')
\gexec
SQL

psql_admin -d "$db" <<'SQL'
create extension if not exists fuzzystrmatch;
-- objects left by a login (before its default role was set) go to its group role
reassign owned by lawn_dbt to transformer;
reassign owned by lawn_loader to loader;
revoke create on schema public from public;
-- the raw landing zone belongs to the loader (lawn lands as `set role loader`); the
-- transformer only reads it, and no other role sees it
create schema if not exists raw authorization loader;
alter schema raw owner to loader;
grant usage on schema raw to transformer;
alter default privileges for role loader in schema raw grant select on tables to transformer;
grant select on all tables in schema raw to transformer;
SQL
done

# one more, sorting text by a language (ICU en-US, as many managed servers' default collation
# does): lawn refuses to build there (tests_py/test_postgres_collation.py)
psql_admin -d postgres -v database="${database}_icu" <<'SQL'
select format('create database %I owner transformer template template0 locale_provider icu icu_locale %L',
              :'database', 'en-US')
where not exists (select 1 from pg_database where datname = :'database')
\gexec
select format('grant connect on database %I to loader, transformer', :'database')
\gexec
SQL

echo "postgres_ci: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on $host:$port," \
    "databases $database, ${database}_nightly, ${database}_increment, ${database}_handwritten" \
    "and ${database}_icu; source $env_file"
