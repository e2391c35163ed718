#!/usr/bin/env bash
# Process crash test: a real rokka ($ROKKA_BIN, else a release build) with
# flushDiskType=SYNC_FLUSH and a real Kafka client (confluent-kafka from
# PyPI, acks=all, idempotent) producing unique payloads over 3 partitions
# without pause. rokka is SIGKILLed at KILLS (10) random points, 1-4 s apart,
# and restarted on the same data directory and port each time while the
# client keeps retrying. At the end every partition is read back: 0
# acknowledged records lost, 0 duplicated, offsets contiguous and unique.
# Loopback only; bounded loops; about a minute.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CONFLUENT_KAFKA_VERSION=2.16.1
KILLS="${KILLS:-10}"
PARTITIONS=3
TOPIC=crash-test
START=$(date +%s)

log() { printf '[crash] %s\n' "$*"; }
fail() { log "FAIL: $*"; exit 1; }

if [ -z "${ROKKA_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release --locked --bin rokka)
    ROKKA_BIN="$ROOT/target/release/rokka"
fi
export ROKKA_BIN

VENV="$ROOT/target/conformance-crash-venv"
if ! "$VENV/bin/python" -c "import confluent_kafka as c; assert c.version()[0] == '$CONFLUENT_KAFKA_VERSION'" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
        "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
fi
PY="$VENV/bin/python"

WORK="$(mktemp -d)"
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
PRODUCER=""
cleanup() {
    [ -n "$PRODUCER" ] && kill "$PRODUCER" 2>/dev/null || true
    rokka_stop
    if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# A fixed Kafka port, so that the client finds rokka again after a restart.
PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat >"$WORK/rokka.conf" <<CONF
flushDiskType=SYNC_FLUSH
num.partitions=$PARTITIONS
mapedFileSizeCommitLog=67108864
CONF
mkdir -p "$WORK/logs"

start() {
    local t0 t1
    t0=$(date +%s%N)
    rokka_start "$WORK" -c "$WORK/rokka.conf" --kafka-port "$PORT" || fail "rokka did not restart"
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000)) >>"$WORK/ready-ms"
}

start
BOOT="127.0.0.1:$PORT"
log "rokka at $BOOT (SYNC_FLUSH), $KILLS kills ahead"
"$PY" "$HERE/producer.py" "$BOOT" "$TOPIC" "$PARTITIONS" "$WORK/stop" \
    "$WORK/acks" "$WORK/fails" >"$WORK/producer.out" 2>&1 &
PRODUCER=$!

for i in $(seq 1 "$KILLS"); do
    sleep "$((1 + RANDOM % 3)).$((RANDOM % 10))"
    kill -0 "$PRODUCER" 2>/dev/null || { cat "$WORK/producer.out"; fail "producer exited early"; }
    before=$(wc -l <"$WORK/acks")
    kill -9 "$ROKKA_PID"
    wait "$ROKKA_PID" 2>/dev/null || true
    ROKKA_PID=""
    cp "$WORK/rokka.log" "$WORK/logs/run-$i.log"
    start
    log "kill $i: $before acks so far, ready again in $(tail -1 "$WORK/ready-ms") ms"
done
sleep 2
touch "$WORK/stop"
wait "$PRODUCER" || { cat "$WORK/producer.out"; fail "producer did not finish cleanly"; }
PRODUCER=""
tail -1 "$WORK/producer.out"
[ -s "$WORK/fails" ] && { head "$WORK/fails"; fail "$(wc -l <"$WORK/fails") deliveries failed"; }

"$PY" "$HERE/check.py" "$BOOT" "$TOPIC" "$PARTITIONS" "$WORK/acks" || fail "check"
cp "$WORK/rokka.log" "$WORK/logs/run-final.log"
log "recovery lines of the restarts:"
grep -h -i "recover" "$WORK"/logs/run-*.log | grep -v "^$" | sed 's/^/    /' | tail -n 12 || true
log "ready times (ms, start to ready line): $(tr '\n' ' ' <"$WORK/ready-ms")"
log "ok in $(($(date +%s) - START)) s"
