#!/usr/bin/env bash
# Cross-ecosystem consumer groups with real clients against a real rokka
# ($ROKKA_BIN): a group moving RocketMQ -> Kafka and Kafka -> RocketMQ
# mid-stream (no loss, uncommitted window checked), and mixed live groups
# (the group belongs to the ecosystem whose members are live; the other one
# is refused until they leave). Scenarios: groups.py; findings:
# GROUPS-FINDINGS.md.
#   RocketMQ: crates.io rocketmq-client-rust 1.0.0 push consumer
#     (conformance/rocketmq/client, `migrate` mode, one process per consumer).
#   Kafka: confluent-kafka (PyPI, pinned) producer and consumers.
# Installs what it needs, binds 127.0.0.1 on free ports (port 0 everywhere,
# addresses read back from the log), temp data dir, bounds every wait, kills
# rokka on exit, prints PASS/FAIL per scenario and exits non-zero on failure.
# Optional arguments: scenario function names to run only those.
# KEEP_WORK=1 keeps the work dir (rokka log, each client's log, every
# delivery as JSON lines). GROUPS_RMQ_CLIENT_DEFAULTS=1 runs the push
# consumers with the client's default consume settings (an experiment that
# fails, see GROUPS-FINDINGS.md).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
[ -x "$ROKKA_BIN" ] || { echo "ROKKA_BIN=$ROKKA_BIN is not executable" >&2; exit 1; }
CONFLUENT_KAFKA_VERSION=2.16.1

log() { printf '[cross-groups] %s\n' "$*"; }
fail() { log "FAIL: $*"; exit 1; }

# --- clients -----------------------------------------------------------------
VENV="$ROOT/target/conformance-cross-groups-venv"
if ! "$VENV/bin/python" -c "import confluent_kafka, sys; sys.exit(confluent_kafka.version() != '$CONFLUENT_KAFKA_VERSION')" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
        "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
fi
# The checks themselves must catch a bad hand-over (synthetic deliveries).
"$VENV/bin/python" "$HERE/groups_selftest.py" || fail "checker self-test"
log "building the RocketMQ client (first build takes several minutes)"
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
rocketmq_client_build
CLIENT="$ROCKETMQ_CLIENT"

# --- broker ------------------------------------------------------------------
WORK="$(mktemp -d)"
cleanup() {
    # RocketMQ consumer processes left behind by a killed groups.py (by pid,
    # only if that pid still runs the client).
    if [ -f "$WORK/rocketmq-consumers.pids" ]; then
        while read -r pid; do
            if grep -q rokka-rocketmq-conformance "/proc/$pid/cmdline" 2>/dev/null; then
                kill "$pid" 2>/dev/null || true
            fi
        done <"$WORK/rocketmq-consumers.pids"
    fi
    rokka_stop
    if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; else log "work dir kept: $WORK"; fi
}
trap cleanup EXIT

rokka_start "$WORK" || fail "rokka did not start"
KAFKA="$ROKKA_KAFKA" NAMESRV="$ROKKA_NAMESRV" REMOTING="$ROKKA_REMOTING"
log "rokka pid $ROKKA_PID: kafka $KAFKA, namesrv $NAMESRV, remoting $REMOTING"

START=$(date +%s)
status=0
# rocketmq-client-rust logs to stdout; groups.py keeps those lines in $WORK.
timeout 400 "$VENV/bin/python" "$HERE/groups.py" "$KAFKA" "$NAMESRV" "$REMOTING" "$CLIENT" "$WORK" "$@" \
    || status=$?
log "groups scenarios took $(( $(date +%s) - START )) s"
if [ "$status" -ne 0 ]; then
    log "rokka log tail:"; tail -30 "$WORK/rokka.log" || true
    fail "cross-ecosystem group scenarios failed (exit $status)"
fi
log "all cross-ecosystem group scenarios passed"
