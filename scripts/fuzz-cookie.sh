#!/usr/bin/env bash
# Fuzzes the cookie driver's read_cookie (target `open_cookie` in
# session-core/fuzz) for at most 60 seconds.
#
#   scripts/fuzz-cookie.sh            # 60 s
#   FUZZ_SECONDS=10 scripts/fuzz-cookie.sh
#
# Installs cargo-fuzz if it is missing. libFuzzer needs nightly-only rustc
# flags (-Z sanitizer, -C passes=sancov-module ...); RUSTC_BOOTSTRAP=1 lets a
# stable toolchain accept them, so no nightly toolchain is needed.
#
# New inputs libFuzzer finds go to session-core/fuzz/corpus-local/ (ignored by
# git), so the checked-in seeds in corpus/open_cookie/ stay as they are. A
# crash is saved under session-core/fuzz/artifacts/open_cookie/ and the script
# exits non-zero.
set -euo pipefail

seconds="${FUZZ_SECONDS:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || (( seconds < 1 || seconds > 60 )); then
    echo "FUZZ_SECONDS must be a whole number from 1 to 60, not '$seconds'" >&2
    exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed; installing it (takes a few minutes)" >&2
    cargo install cargo-fuzz --locked
fi

cd "$(dirname "$0")/../session-core"
mkdir -p fuzz/corpus-local/open_cookie
export RUSTC_BOOTSTRAP=1
# ${FUZZ_SANITIZER}: address (cargo-fuzz's default) by default; set
# FUZZ_SANITIZER=none where AddressSanitizer is not available. The crate has no
# unsafe code, so `none` loses little.
exec cargo fuzz run --sanitizer "${FUZZ_SANITIZER:-address}" open_cookie \
    fuzz/corpus-local/open_cookie fuzz/corpus/open_cookie \
    -- -max_total_time="$seconds" -max_len=8192
