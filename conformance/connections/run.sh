#!/usr/bin/env bash
# Connection hygiene: a real rokka with short timeouts and small per-address
# caps; raw-socket idle, slow (one byte each 0.5 s) and flood (garbage frame)
# clients on the Kafka and NameServer listeners, each group from its own
# 127.0.0.x address; confluent-kafka (PyPI, pinned) as the normal client.
# Checks: the per-address cap refuses the excess (and counts it), idle
# connections close after the idle timeout, trickling frames after the frame
# read timeout, every garbage frame is counted, WARN lines stay within the
# rate limit and report what they suppressed, the normal client is served
# throughout. Bounded in time, loopback only.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
CONFLUENT_KAFKA_VERSION=2.16.1

log() { printf '[connections-conformance] %s\n' "$*"; }
fail() { log "FAIL: $*"; exit 1; }

VENV="$ROOT/target/conformance-hygiene-venv"
if ! "$VENV/bin/python" -c "import confluent_kafka" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
        "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
fi

WORK="$(mktemp -d)"
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
cleanup() {
    rokka_stop
    rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/broker.conf" <<CONF
connections.max.idle.ms=2000
serverChannelMaxIdleTimeSeconds=2
max.connections.per.ip=60
rokka.remotingMaxConnectionsPerIp=60
rokka.frameReadTimeoutMs=3000
rokka.rejectedLogsPerSecond=5
CONF
rokka_start "$WORK" --config "$WORK/broker.conf" || fail "rokka did not start"
log "rokka kafka $ROKKA_KAFKA, namesrv $ROKKA_NAMESRV"
timeout 300 "$VENV/bin/python" "$HERE/hygiene.py" "$ROKKA_KAFKA" "$ROKKA_NAMESRV" "$ROKKA_HTTP" "$ROKKA_LOG" \
    || { grep -E " (WARN|ERROR) " "$ROKKA_LOG" | tail -20; fail "connection hygiene scenario"; }
log "ok"
