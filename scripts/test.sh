#!/usr/bin/env bash
# The whole test suite. Starts (or installs) the servers the tests need, then
# runs every test in the workspace with every feature.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh

ensure_redis
ensure_valkey
ensure_postgres
ensure_mariadb
ensure_browser

echo "[test] cargo test --workspace --all-features" >&2
cargo test --workspace --all-features
