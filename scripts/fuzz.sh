#!/usr/bin/env bash
# Fuzzes session-core's parsers of client and operator input (the targets in
# session-core/fuzz), each for at most 60 seconds, one after the other:
#
#   open_cookie      the cookie driver's read_cookie (sealed values)
#   parse_id         SessionId::parse (every server-side cookie value)
#   decode_record    Record::decode (every stored record)
#   driver_settings  DriverSettings from JSON and from SESSION_* pairs
#   cookie_header    the middleware's scan of Cookie headers for ours
#   redis_value      the Redis driver's stored value (header, then record)
#   file_template    the file driver's name template and directory entries
#
#   scripts/fuzz.sh                       # every target, 60 s each
#   FUZZ_SECONDS=10 scripts/fuzz.sh parse_id
#
# Installs cargo-fuzz if it is missing. libFuzzer needs nightly-only rustc
# flags (-Z sanitizer, -C passes=sancov-module ...); RUSTC_BOOTSTRAP=1 lets a
# stable toolchain accept them, so no nightly toolchain is needed.
#
# New inputs libFuzzer finds go to session-core/fuzz/corpus-local/<target>/
# (ignored by git), so the checked-in seeds in corpus/<target>/ stay as they
# are. A crash is saved under session-core/fuzz/artifacts/<target>/ and the
# script exits non-zero; add the input to corpus/<target>/ and a regression
# test once it is fixed.
set -euo pipefail

seconds="${FUZZ_SECONDS:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || (( seconds < 1 || seconds > 60 )); then
    echo "FUZZ_SECONDS must be a whole number from 1 to 60, not '$seconds'" >&2
    exit 2
fi
targets=("$@")
if (( ${#targets[@]} == 0 )); then
    targets=(open_cookie parse_id decode_record driver_settings cookie_header redis_value file_template)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed; installing it (takes a few minutes)" >&2
    cargo install cargo-fuzz --locked
fi

cd "$(dirname "$0")/../session-core"
export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
    echo "[fuzz] $target for ${seconds} s" >&2
    mkdir -p "fuzz/corpus-local/$target" "fuzz/corpus/$target"
    # ${FUZZ_SANITIZER}: address (cargo-fuzz's default) by default; set
    # FUZZ_SANITIZER=none where AddressSanitizer is not available. The crate
    # has no unsafe code, so `none` loses little.
    cargo fuzz run --sanitizer "${FUZZ_SANITIZER:-address}" "$target" \
        "fuzz/corpus-local/$target" "fuzz/corpus/$target" \
        -- -max_total_time="$seconds" -max_len=8192
done
