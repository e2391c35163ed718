#!/usr/bin/env bash
# Fuzzing: builds the cargo-fuzz targets of fuzz/ (docs/fuzzing.md) on the
# machine's stable toolchain and runs each for FUZZ_SECONDS (60) from its
# committed seed corpus. Fails on the first crash, timeout or OOM and prints
# the path of the input that caused it (a regression test then goes into
# the affected crate). New corpus entries go to a scratch directory, so the
# committed seeds stay as they are.
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_TARGETS   space-separated subset (default: every target)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
CARGO_FUZZ_VERSION=0.13.2
START=$(date +%s)

log() { printf '[fuzz] %s\n' "$*"; }
fail() { log "FAIL: $*"; exit 1; }

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --quiet
fi

# cargo fuzz passes -Z flags; RUSTC_BOOTSTRAP lets the stable toolchain take
# them. No sanitizer: the decoders are safe Rust, so the bugs to find are
# panics, overflows (debug assertions are on), hangs and OOMs, which libFuzzer
# reports without ASan at several times the speed.
export RUSTC_BOOTSTRAP=1
FUZZ_FLAGS=(-O --sanitizer none --debug-assertions)
cd "$ROOT/fuzz"
log "building fuzz targets"
cargo fuzz build "${FUZZ_FLAGS[@]}" 2>&1 | tail -3
BUILT=$(date +%s)
log "build took $((BUILT - START)) s"

TARGETS="${FUZZ_TARGETS:-$(cargo fuzz list)}"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
for t in $TARGETS; do
    mkdir -p "$SCRATCH/$t" "$SCRATCH/artifacts/$t"
    seeds=()
    [ -d "corpus/$t" ] && seeds=("corpus/$t")
    log "$t: ${FUZZ_SECONDS}s"
    t0=$(date +%s)
    if ! cargo fuzz run "${FUZZ_FLAGS[@]}" "$t" "$SCRATCH/$t" "${seeds[@]}" -- \
        -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$SCRATCH/artifacts/$t/" -print_final_stats=1 \
        >"$SCRATCH/$t.log" 2>&1; then
        tail -40 "$SCRATCH/$t.log"
        keep="$ROOT/target/fuzz-artifacts/$t"
        rm -rf "$keep" && mkdir -p "$keep"
        cp "$SCRATCH/artifacts/$t/"* "$keep/" 2>/dev/null || true
        for a in "$keep"/*; do log "crash input: $a"; done
        fail "$t found a crash (reproduce: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run ${FUZZ_FLAGS[*]} $t <input>)"
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$SCRATCH/$t.log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$SCRATCH/$t.log" | tail -1)
    log "$t ok: ${execs:-?} execs, $cov, corpus $(ls "$SCRATCH/$t" | wc -l) new, $(( $(date +%s) - t0 )) s"
done
log "all targets ok in $(( $(date +%s) - START )) s"
