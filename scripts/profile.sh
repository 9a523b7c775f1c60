#!/usr/bin/env bash
# Instructions per request of one testbed route, and a callgrind profile of
# it to read with callgrind_annotate.
#
#   scripts/profile.sh STORE ROUTE [TESTBED]
#
# STORE is none (bare actix-web), memory, cookie or redis; ROUTE is read,
# write or untouched; TESTBED defaults to the release testbed built into
# ${CARGO_TARGET_DIR:-target} (build it first:
# `cargo build --release -p session-examples --example testbed --features "cookie redis"`).
#
# What it does: starts the testbed under `valgrind --tool=callgrind` on
# 127.0.0.1:$PROFILE_PORT (default 18500), makes one session with
# `POST /write`, warms up with a 1 s wrk run ($PROFILE_CONNECTIONS
# connections, default 4), zeroes the counters, runs wrk for
# $PROFILE_SECONDS (default 3) with the session's cookie, dumps the counters
# and stops the testbed. With one connection a Redis write's count is
# steady (no batching of parallel saves to vary it). Prints the instructions
# per request and the path of the profile, for example
#
#   callgrind_annotate --inclusive=no --threshold=100 FILE | head -60
#
# PROFILE_KEYS=N first puts N more keys of about 100 bytes into the session
# (see docs/performance.md, "Cost as the session grows").
#
# Counts move by a few dozen instructions between runs of one binary; unlike
# scripts/bench.sh (which measures many servers side by side, with 64
# sessions), this one measures a single route alone, for a change's before
# and after. Redis is expected at $REDIS_URL (default redis://127.0.0.1:6379).
# Needs valgrind, wrk and curl (apt-get install valgrind wrk curl).
set -euo pipefail

STORE=${1:?usage: scripts/profile.sh STORE ROUTE [TESTBED]}
ROUTE=${2:?usage: scripts/profile.sh STORE ROUTE [TESTBED]}
BIN=${3:-${CARGO_TARGET_DIR:-target}/release/examples/testbed}
PORT=${PROFILE_PORT:-18500}
SECONDS_RUN=${PROFILE_SECONDS:-3}
CONNECTIONS=${PROFILE_CONNECTIONS:-4}
OUT=${PROFILE_DIR:-$(mktemp -d)}

for tool in valgrind wrk curl callgrind_control; do
  command -v "$tool" >/dev/null || { echo "profile.sh: $tool is missing" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "profile.sh: no testbed at $BIN; build it first (see the header)" >&2; exit 1; }

args=(--store "$STORE" --port "$PORT")
case $STORE in
  cookie) args+=(--key "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')") ;;
  redis) args+=(--redis "${REDIS_URL:-redis://127.0.0.1:6379}") ;;
esac
valgrind -q --tool=callgrind --callgrind-out-file="$OUT/callgrind.%p" "$BIN" "${args[@]}" >"$OUT/testbed.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 200); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/untouched" && break
  sleep 0.2
done

cookie=$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$PORT/write" \
  | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p')
# A bigger session: PROFILE_KEYS more keys of about 100 bytes each (a JSON
# string of 90 characters under a short key), put through /kv/{key}. The
# cookie driver refuses a session past its 4 KB cookie (about 25 such keys).
value="\"$(printf 'x%.0s' $(seq 90))\""
for i in $(seq "${PROFILE_KEYS:-0}"); do
  answer=$(curl -s -o /dev/null -D - -X PUT -H "Cookie: $cookie" \
    -H 'Content-Type: application/json' --data "$value" "http://127.0.0.1:$PORT/kv/key$i")
  case $answer in
    "HTTP/1.1 204"*) ;;
    *) echo "profile.sh: PUT /kv/key$i answered $(echo "$answer" | head -1)" >&2; exit 1 ;;
  esac
  # The cookie driver sends the grown session back in a new cookie.
  new=$(echo "$answer" | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p')
  [ -n "$new" ] && cookie=$new
done
method=GET
[ "$ROUTE" = write ] && method=POST
cat >"$OUT/wrk.lua" <<LUA
wrk.method = "$method"
wrk.headers["Cookie"] = "$cookie"
LUA
url="http://127.0.0.1:$PORT/$ROUTE"
wrk -t1 -c"$CONNECTIONS" -d1s -s "$OUT/wrk.lua" "$url" >/dev/null
callgrind_control -z "$pid" >/dev/null 2>&1
requests=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_RUN}s" -s "$OUT/wrk.lua" "$url" | awk '/requests in/ {print $1}')
callgrind_control -d "$pid" >/dev/null 2>&1
kill "$pid"
wait "$pid" 2>/dev/null || true
trap - EXIT

profile=$(ls -t "$OUT/callgrind.$pid".* | head -1)
total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$profile")
echo "$STORE $ROUTE${PROFILE_KEYS:+ (+$PROFILE_KEYS keys)}: $((total / requests)) instructions per request ($requests requests); profile: $profile"
