#!/usr/bin/env bash
# Tests scripts/services.sh's start paths: stops PostgreSQL and MariaDB,
# checks that they are down, runs ensure_postgres and ensure_mariadb, and
# checks that both answer the way the tests connect to them. CI runs it
# before the test suite; it must not run while tests use the databases.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh

fail() { say "FAIL: $*"; exit 1; }

# Make sure both are installed and up first, so there is something to stop.
ensure_postgres
ensure_mariadb

say "test: stopping PostgreSQL and MariaDB"
version=$(ls /etc/postgresql | sort -V | tail -1)
pg_ctlcluster --skip-systemctl-redirect "$version" main stop >&2
mariadb-admin -u root shutdown >&2
for _ in $(seq 1 120); do
  port_open 5432 || port_open 3306 || break
  sleep 0.25
done
port_open 5432 && fail "PostgreSQL still answers after stop"
port_open 3306 && fail "MariaDB still answers after shutdown"

say "test: starting them again with ensure_postgres and ensure_mariadb"
ensure_postgres
ensure_mariadb
psql -h 127.0.0.1 -U postgres -d test -tAc 'select 1' | grep -qx 1 \
  || fail "PostgreSQL does not answer on 127.0.0.1 as user postgres, database test"
mariadb -h 127.0.0.1 -u root -N -e 'select 1' test | grep -qx 1 \
  || fail "MariaDB does not answer on 127.0.0.1 as root, database test"
say "test: ok, both started from stopped and answer as the tests expect"
