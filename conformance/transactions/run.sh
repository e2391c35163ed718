#!/usr/bin/env bash
# Kafka transactions conformance (issue 15, ADR 014): a real rokka
# ($ROKKA_BIN) driven by confluent-kafka (librdkafka, PyPI, pinned):
#   basic      commit, abort, commit: read_committed sees exactly the
#              committed records in order, read_uncommitted all; an open
#              transaction withholds its records and what follows
#   zombie     a second producer with the same transactional.id fences the
#              first (fatal for the zombie, its records never visible)
#   timeout    a transaction past transaction.timeout.ms is aborted by the
#              broker (the late commit fails, the LSO moves on)
#   ctp        consume-transform-produce with send_offsets_to_transaction;
#              the application is SIGKILLed mid-way and restarted: the
#              output holds every input record exactly once
#   crash      rokka SIGKILLed with a transaction open on two partitions;
#              after the restart it is aborted on timeout, no partition stuck
#   kafkajs    kafkajs 2.2.4 (npm): commit, abort, commit with sendOffsets;
#              its read_committed consumer sees the committed records only,
#              the group gets the committed transaction's offset
#   rocketmq   rocketmq-client-rust (the RocketMQ suite's crate, `cross
#              consume` mode) reads a topic with aborted Kafka transactions:
#              only committed records delivered (skipped with a message when
#              SKIP_ROCKETMQ=1)
# Installs what it needs, binds 127.0.0.1 on free ports, bounds every wait.
# Takes about 80 s here (65 s with SKIP_ROCKETMQ=1), plus the client
# installs and, the first time, the RocketMQ client build (40 min on 2 busy
# cores; shared with the rocketmq and cross suites).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
CONFLUENT_KAFKA_VERSION=2.16.1
KAFKAJS_VERSION=2.2.4
N=3000
START=$(date +%s)

log() { printf '[transactions] %s\n' "$*"; }
fail() { log "FAIL: $*"; exit 1; }

# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
python_venv "$ROOT/target/conformance-transactions-venv" \
    "import confluent_kafka as c; assert c.version()[0] == '$CONFLUENT_KAFKA_VERSION'" \
    "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
WORK="$(mktemp -d)"
APP=""
cleanup() {
    [ -n "$APP" ] && kill -9 "$APP" 2>/dev/null || true
    rokka_stop
    if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# A fixed Kafka port so that clients find rokka again after a restart; the
# timeout pass every 200 ms instead of Kafka's 10 s.
PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat >"$WORK/rokka.conf" <<CONF
transaction.abort.timed.out.transaction.cleanup.interval.ms=200
CONF
start() { rokka_start "$WORK" -c "$WORK/rokka.conf" --kafka-port "$PORT" || fail "rokka did not start"; }
BOOT="127.0.0.1:$PORT"
start
log "rokka at $BOOT"
timeout 60 "$PY" "$HERE/scenarios.py" basic "$BOOT" || fail basic
timeout 60 "$PY" "$HERE/scenarios.py" zombie "$BOOT" || fail zombie
timeout 60 "$PY" "$HERE/scenarios.py" timeout "$BOOT" || fail timeout

log "--- consume-transform-produce, application SIGKILLed mid-way"
timeout 60 "$PY" "$HERE/scenarios.py" ctp-load "$BOOT" "$N" || fail ctp-load
"$PY" "$HERE/ctp_app.py" "$BOOT" "$WORK/progress" >"$WORK/app1.out" 2>&1 &
APP=$!
for _ in $(seq 1 600); do
    [ "$(tail -1 "$WORK/progress" 2>/dev/null || echo 0)" -ge $((N / 3)) ] && break
    kill -0 "$APP" 2>/dev/null || { cat "$WORK/app1.out"; fail "the application exited early"; }
    sleep 0.1
done
sleep 0.05 # into the next transaction, whose records are then written but not committed
kill -9 "$APP"
wait "$APP" 2>/dev/null || true
APP=""
log "application killed after $(tail -1 "$WORK/progress") committed input records"
timeout 150 "$PY" "$HERE/ctp_app.py" "$BOOT" "$WORK/progress" || { tail -30 "$ROKKA_LOG"; fail "the restarted application"; }
timeout 90 "$PY" "$HERE/scenarios.py" ctp-check "$BOOT" "$N" || fail ctp-check

log "--- rokka SIGKILLed with an open transaction"
timeout 60 "$PY" "$HERE/scenarios.py" crash-open "$BOOT" || fail crash-open
kill -9 "$ROKKA_PID"
wait "$ROKKA_PID" 2>/dev/null || true
ROKKA_PID=""
start
timeout 60 "$PY" "$HERE/scenarios.py" crash-check "$BOOT" || { tail -30 "$ROKKA_LOG"; fail crash-check; }

log "--- kafkajs $KAFKAJS_VERSION"
NODE_DIR="$ROOT/target/conformance-transactions-node"
if ! grep -qs "\"version\": \"$KAFKAJS_VERSION\"" "$NODE_DIR/node_modules/kafkajs/package.json"; then
    rm -rf "$NODE_DIR"
    mkdir -p "$NODE_DIR"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent "kafkajs@$KAFKAJS_VERSION")
fi
NODE_PATH="$NODE_DIR/node_modules" timeout 120 node "$HERE/kafkajs.js" "$BOOT" || { tail -30 "$ROKKA_LOG"; fail kafkajs; }

if [ "${SKIP_ROCKETMQ:-0}" = 1 ]; then
    log "--- rocketmq reader skipped (SKIP_ROCKETMQ=1)"
else
    log "--- rocketmq-client-rust reads a topic with aborted Kafka transactions"
    rocketmq_client_build >/dev/null
    timeout 60 "$PY" "$HERE/scenarios.py" rmq-load "$BOOT" || fail rmq-load
    mkdir -p "$WORK/rmq"
    timeout 200 "$ROCKETMQ_CLIENT" "$ROKKA_NAMESRV" cross consume txn-rmq "$WORK/rmq" 20 0 NoSuchTag "" \
        >"$WORK/rmq.out" 2>&1 || { cat "$WORK/rmq.out"; fail "rocketmq reader"; }
    "$PY" "$HERE/scenarios.py" rmq-check "$WORK/rmq" || fail rmq-check
fi
log "ok ($(($(date +%s) - START)) s)"
