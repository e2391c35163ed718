#!/usr/bin/env bash
# Operators' tools with real clients against a real rokka ($ROKKA_BIN):
# `rokka admin group reset` is observed by both ecosystems' consumers, and a
# Kafka-side reset (an offset commit to the empty group, what
# kafka-consumer-groups --reset-offsets sends) is observed by a RocketMQ one.
#   Kafka: kcat (Debian) producer and balanced consumer (-G); confluent-kafka
#     (PyPI, pinned) for the offset commit of the Kafka-side reset.
#   RocketMQ: rocketmq-client-rust 1.0.0 push consumer
#     (conformance/rocketmq/client, `migrate` mode).
# Steps: produce 10, note the time T, produce 10; kcat group reads all 20;
# reset --to-datetime T -> kcat reads exactly the last 10; reset --shift-by -5
# -> the RocketMQ consumer reads exactly the last 5; Kafka commit of offset 12
# -> the RocketMQ consumer reads exactly 12..19; a reset --to-earliest while
# a RocketMQ consumer is live (the broker commits, then sends
# RESET_CONSUMER_CLIENT_OFFSET) -> it reads all 20 again.
# Installs what it needs, binds 127.0.0.1 on free ports, bounds every wait,
# kills what it started. About 25 s once the clients are built (55 s with the first venv install).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
CONFLUENT_KAFKA_VERSION=2.16.1
TOPIC=AdmT
GROUP=adm-g

log() { printf '[admin-conformance] %s\n' "$*"; }
fail() { log "FAIL: $*"; exit 1; }

if ! command -v kcat >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null
fi
VENV="$ROOT/target/conformance-admin-venv"
if ! "$VENV/bin/python" -c "import confluent_kafka, sys; sys.exit(confluent_kafka.version() != '$CONFLUENT_KAFKA_VERSION')" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
        "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
fi
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
log "building the RocketMQ client (first build takes several minutes)"
rocketmq_client_build
CLIENT="$ROCKETMQ_CLIENT"

WORK="$(mktemp -d)"
RMQ_PID=""
cleanup() {
    if [ -n "$RMQ_PID" ] && kill -0 "$RMQ_PID" 2>/dev/null; then kill "$RMQ_PID" 2>/dev/null || true; fi
    rokka_stop
    if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; else log "work dir kept: $WORK"; fi
}
trap cleanup EXIT
rokka_start "$WORK"
log "rokka: kafka $ROKKA_KAFKA, namesrv $ROKKA_NAMESRV, broker $ROKKA_REMOTING"
admin() { "$ROKKA_BIN" admin --broker "$ROKKA_REMOTING" --namesrv "$ROKKA_NAMESRV" "$@"; }

now_ms() { date +%s%3N; }

admin topic create "$TOPIC" --queues 1 >/dev/null
seq -f 'a%g' 0 9 | kcat -P -b "$ROKKA_KAFKA" -t "$TOPIC" -p 0
sleep 0.2
T="$(now_ms)"
sleep 0.2
seq -f 'b%g' 0 9 | kcat -P -b "$ROKKA_KAFKA" -t "$TOPIC" -p 0

# A Kafka balanced consumer reads `want` messages of the group; prints
# "offset value" lines. It commits on close.
kafka_read() {
    timeout 60 kcat -C -b "$ROKKA_KAFKA" -G "$GROUP" -X auto.offset.reset=earliest \
        -c "$1" -f '%o %s\n' "$TOPIC" 2>"$WORK/kcat.err" || { cat "$WORK/kcat.err" >&2; return 1; }
}
# The RocketMQ push consumer of the group until `want` deliveries (or 60 s);
# prints "offset body" lines.
rocketmq_read() {
    local want="$1" out="$WORK/rmq-$2.out" stop="$WORK/rmq-$2.stop"
    "$CLIENT" "$ROKKA_NAMESRV" migrate "$TOPIC" "$GROUP" last "$stop" >"$out" 2>&1 &
    RMQ_PID=$!
    local _
    for _ in $(seq 1 600); do
        [ "$(grep -c '"ev":"msg"' "$out" || true)" -ge "$want" ] && break
        kill -0 "$RMQ_PID" 2>/dev/null || break
        sleep 0.1
    done
    touch "$stop"
    for _ in $(seq 1 300); do kill -0 "$RMQ_PID" 2>/dev/null || break; sleep 0.1; done
    kill "$RMQ_PID" 2>/dev/null || true
    wait "$RMQ_PID" 2>/dev/null || true
    RMQ_PID=""
    sed -n 's/^MIGRATE {"ev":"msg",.*"offset":\([0-9]*\),.*"body":"\([^"]*\)".*/\1 \2/p' "$out"
}

log "1. kcat group $GROUP reads all 20"
got="$(kafka_read 20)"
[ "$(echo "$got" | wc -l)" = 20 ] || fail "kcat read: $got"
lag="$(admin --output json group lag "$GROUP" | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)[0]["lag"])')"
[ "$lag" = 0 ] || fail "lag after reading everything is $lag"

log "2. rokka admin group reset --to-datetime T: Kafka reads the last 10"
admin group reset "$GROUP" --topic "$TOPIC" --to-datetime "$T"
got="$(kafka_read 10)"
[ "$(echo "$got" | head -1)" = "10 b0" ] || fail "after the reset kcat read from: $(echo "$got" | head -1)"
[ "$(echo "$got" | tail -1)" = "19 b9" ] || fail "kcat read up to: $(echo "$got" | tail -1)"

log "3. rokka admin group reset --shift-by -5: RocketMQ reads the last 5"
admin group reset "$GROUP" --topic "$TOPIC" --shift-by -5
got="$(rocketmq_read 5 shift)"
[ "$(echo "$got" | head -1)" = "15 b5" ] || fail "RocketMQ consumer read from: $(echo "$got" | head -1) (all: $got)"
[ "$(echo "$got" | wc -l)" = 5 ] || fail "RocketMQ consumer read: $got"

log "4. Kafka-side reset (commit offset 12 to the empty group): RocketMQ reads 12..19"
"$VENV/bin/python" - "$ROKKA_KAFKA" "$GROUP" "$TOPIC" <<'PY'
import sys
from confluent_kafka import Consumer, TopicPartition
broker, group, topic = sys.argv[1:]
c = Consumer({"bootstrap.servers": broker, "group.id": group, "enable.auto.commit": False})
c.commit(offsets=[TopicPartition(topic, 0, 12)], asynchronous=False)
c.close()
PY
got="$(rocketmq_read 8 kafka)"
[ "$(echo "$got" | head -1)" = "12 b2" ] || fail "RocketMQ consumer read from: $(echo "$got" | head -1) (all: $got)"
[ "$(echo "$got" | wc -l)" = 8 ] || fail "RocketMQ consumer read: $got"

log "5. reset --to-earliest while the RocketMQ consumer is live: it reads all 20 again"
out="$WORK/rmq-live.out"
# Rebalance every second (the client reads this variable; default 20 s), so
# the consumer owns the queue, and sees the reset, within the waits below.
env "rocketmq.client.rebalance.waitInterval=1000" \
    "$CLIENT" "$ROKKA_NAMESRV" migrate "$TOPIC" "$GROUP" last "$WORK/rmq-live.stop" >"$out" 2>&1 &
RMQ_PID=$!
for _ in $(seq 1 300); do grep -q '"ev":"started"' "$out" && break; sleep 0.1; done
sleep 3 # one rebalance, so the consumer owns the queue
admin group reset "$GROUP" --topic "$TOPIC" --to-earliest >/dev/null
for _ in $(seq 1 300); do [ "$(grep -c '"ev":"msg"' "$out" || true)" -ge 20 ] && break; sleep 0.1; done
touch "$WORK/rmq-live.stop"
for _ in $(seq 1 300); do kill -0 "$RMQ_PID" 2>/dev/null || break; sleep 0.1; done
kill "$RMQ_PID" 2>/dev/null || true
wait "$RMQ_PID" 2>/dev/null || true
RMQ_PID=""
n="$(grep -c '"ev":"msg"' "$out" || true)"
[ "$n" -ge 20 ] || fail "the live consumer read $n message(s) after the reset, not 20"
log "   the live consumer read $n message(s) again"

log "PASS"
