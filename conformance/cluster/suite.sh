# Sourced by conformance/cluster/run.sh and conformance/groups/run.sh (after
# `set -euo pipefail`, with SUITE set to the suite's name): the helpers and
# the setup both kill suites share.
#   log / problem / fail / secs / count   output; PROBLEMS collects failures
#                       that leave the run able to go on, reported at the end
#   ROKKA_BIN (built when unset), curl, PY (a venv with confluent-kafka,
#   pinned), RMQ (rocketmq-client-rust scenario program), nodes.sh sourced
#   WORK (a new temporary directory), CLIENTS (client pids, killed on exit
#   with every node), got_since, fail_views (fail showing the nodes' logs and
#   views), stop_clients (stops the load of WATCH's pids and waits for them)
SUITE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CONFLUENT_KAFKA_VERSION=2.16.1
START=$(date +%s)

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
log() { printf '[%s] %s\n' "$SUITE" "$*"; }
PROBLEMS=()
problem() {
    log "PROBLEM: $*"
    PROBLEMS+=("$*")
}
count() { if [ -f "$1" ]; then grep -c "${2:-}" "$1" || true; else echo 0; fi; }
# Position resets of a Kafka consumer's log ($1): librdkafka's "offset reset"
# lines, less the start of a partition without a committed offset (which its
# debug log, KC_DEBUG, reports the same way).
resets() {
    if [ -f "$1" ]; then grep 'offset reset' "$1" | grep -vc 'no previously committed offset' || true; else echo 0; fi
}
fail() {
    log "FAIL: $*"
    exit 1
}

if [ -z "${ROKKA_BIN:-}" ]; then
    (cd "$SUITE_ROOT" && cargo build --release --locked --bin rokka)
    ROKKA_BIN="$SUITE_ROOT/target/release/rokka"
fi
export ROKKA_BIN

# curl reads GET /cluster and /metrics (Debian package, installed if missing).
if ! command -v curl >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq curl >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null && apt-get install -y -qq curl >/dev/null; }
fi

# shellcheck source=../lib/rokka.sh
. "$SUITE_ROOT/conformance/lib/rokka.sh"
python_venv "$SUITE_ROOT/target/conformance-crash-venv" \
    "import confluent_kafka as c; assert c.version()[0] == '$CONFLUENT_KAFKA_VERSION'" \
    "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
rocketmq_client_build --quiet
RMQ="$ROCKETMQ_CLIENT"
# shellcheck source=nodes.sh
. "$SUITE_ROOT/conformance/cluster/nodes.sh"

WORK="$(mktemp -d)"
CLIENTS=()
cleanup() {
    local p
    for p in "${CLIENTS[@]}"; do kill "$p" 2>/dev/null || true; done
    cl_stop_all
    if [ "${KEEP_WORK:-0}" = 1 ]; then log "work kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A delivery after time $1 in a consumer's file: `GOT <ms> …` lines
# (rocketmq) or `<ms> <partition> <offset> …` lines (kconsumer.py).
got_since() {
    awk -v t="$1" '($1 == "GOT" && $2 / 1000 > t) || ($1 ~ /^[0-9]+$/ && $1 / 1000 > t) { f = 1; exit }
        END { exit !f }' "$2"
}

# How many distinct queues (partitions) of a consumer's file have a
# delivery after time $1.
queues_since() {
    awk -v t="$1" '$1 == "GOT" && $2 / 1000 > t { q[$3] = 1 }
        $1 ~ /^[0-9]+$/ && $1 / 1000 > t { q[$2] = 1 }
        END { n = 0; for (k in q) n++; print n }' "$2"
}

fail_views() {
    local i
    show_logs
    for i in "${CL_NODES[@]}"; do log "node $i /cluster: $(cl_json "$i")"; done
    fail "$@"
}

# The clients in WATCH (pids) stop at the stop file STOP; each must exit 0.
stop_clients() {
    local p
    sleep 2
    touch "$STOP"
    for p in $WATCH; do
        wait "$p" || problem "client $p exited with an error"
    done
    CLIENTS=()
}
