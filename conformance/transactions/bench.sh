#!/usr/bin/env bash
# Transaction throughput (not run in CI): starts a release rokka ($ROKKA_BIN)
# and runs bench.py with confluent-kafka from the suite's venv (run run.sh
# once first, or it is created here). Usage: bench.sh [RECORDS] (100000).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
python_venv "$ROOT/target/conformance-transactions-venv" "import confluent_kafka" \
    "confluent-kafka==2.16.1"
rokka_scratch
rokka_start "$ROKKA_WORK"
"$PY" "$HERE/bench.py" "$ROKKA_KAFKA" "${1:-100000}"
