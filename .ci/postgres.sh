#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the multi-worker tests (tests/test_postgres.py).
#
# Idempotent: installs Debian's `postgresql` package if no server binaries are found, creates
# a cluster in $TAILSTOP_PG_DIR (default /tmp/tailstop-pg) on first use, starts it if it is not
# running, listening on 127.0.0.1 only (port $TAILSTOP_PG_PORT, default 54329), and creates the
# role and database the tests use. Progress goes to stderr; stdout is one line,
#   export TAILSTOP_TEST_POSTGRES=postgresql+psycopg2://tailstop:tailstop@127.0.0.1:54329/tailstop_test
# so that `eval "$(bash .ci/postgres.sh)"` sets it. The same line is written to
# $TAILSTOP_PG_DIR/env. Stop the server with: bash .ci/postgres.sh stop
set -euo pipefail

pg_dir="${TAILSTOP_PG_DIR:-/tmp/tailstop-pg}"
port="${TAILSTOP_PG_PORT:-54329}"
role=tailstop
password=tailstop
database=tailstop_test
data="$pg_dir/data"
socket="$pg_dir/socket"
log="$pg_dir/server.log"

say() { echo "postgres.sh: $*" >&2; }

find_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then
        echo "$dir"
    fi
}

bin=$(find_bin)
if [[ -z "$bin" ]]; then
    say "no PostgreSQL server found: installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    bin=$(find_bin)
    [[ -n "$bin" ]] || { say "postgresql installed but no initdb found"; exit 1; }
fi

# postgres refuses to run as root: as root, run the server as the postgres user.
if [[ $(id -u) -eq 0 ]]; then
    owner=postgres
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$pg_dir" postgres
    as_owner() { runuser -u postgres -- "$@"; }
else
    owner=$(id -un)
    as_owner() { "$@"; }
fi

running() { "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; }

if [[ "${1:-start}" == stop ]]; then
    if [[ -f "$data/postmaster.pid" ]]; then
        as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >&2
    fi
    exit 0
fi

mkdir -p "$pg_dir" "$socket"
chown "$owner" "$pg_dir" "$socket"
chmod 700 "$pg_dir"

if [[ ! -f "$data/PG_VERSION" ]]; then
    say "creating a cluster in $data"
    rm -rf "$data"
    as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --no-locale >&2
fi

if ! running; then
    say "starting the server on 127.0.0.1:$port"
    # a stale pid file from a killed server would block the start
    if [[ -f "$data/postmaster.pid" ]] && ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        rm -f "$data/postmaster.pid"
    fi
    as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $socket -c max_connections=100 -c fsync=off" \
        start >&2
fi

for _ in $(seq 1 60); do
    running && break
    sleep 0.5
done
running || { say "the server did not come up; see $log"; exit 1; }

psql_admin() {
    as_owner "$bin/psql" -h "$socket" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"
}
if [[ -z $(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$role'") ]]; then
    psql_admin -c "CREATE ROLE $role LOGIN PASSWORD '$password'" >&2
fi
if [[ -z $(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$database'") ]]; then
    psql_admin -c "CREATE DATABASE $database OWNER $role" >&2
fi

line="export TAILSTOP_TEST_POSTGRES=postgresql+psycopg2://$role:$password@127.0.0.1:$port/$database"
echo "$line" > "$pg_dir/env"
chmod 644 "$pg_dir/env"
echo "$line"
