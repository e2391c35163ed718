#!/usr/bin/env bash
# Cross-protocol data paths with real clients against a real rokka ($ROKKA_BIN).
#
# 1. RocketMQ -> Kafka: rocketmq-client-rust (conformance/rocketmq/client,
#    `cross produce`) sends 10,000 messages over 4 queues (keys, several keys,
#    tags, user properties, text/binary bodies, ~5% of 5-20 KiB that the
#    client zlib-compresses) and writes a manifest; kcat, confluent-kafka and
#    sarama (V2_1_0_0) each read the topic from the beginning: every record
#    with the mapped key, headers, byte-identical (inflated) value, timestamp
#    in the send window, offsets = queue offsets, nothing missing or extra.
# 2. Kafka -> RocketMQ: confluent-kafka (lz4, zstd), sarama (gzip, snappy) and
#    kcat (lz4) produce into a 4-partition topic; a push consumer and a lite
#    pull consumer (on `*` and on a tag expression), query by key and view by
#    id (rocketmq-client-rust `cross consume`) must see every record as
#    docs/mapping.md says.
# Comparisons are in check.py. Installs its clients like the kafka/rocketmq
# suites, binds 127.0.0.1 on free ports, bounds every wait, kills rokka on
# exit; prints PASS/FAIL lines and exits non-zero if any scenario failed.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
CONFLUENT_KAFKA_VERSION=2.16.1
export DEBIAN_FRONTEND=noninteractive
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree

log() { printf '[cross-data] %s\n' "$*"; }
die() { log "FAIL: $*"; exit 1; }

# --- clients -------------------------------------------------------------------
APT_PKGS=(kcat golang-go golang-github-shopify-sarama-dev)
if ! command -v kcat >/dev/null 2>&1 || ! command -v go >/dev/null 2>&1 \
    || [ ! -d /usr/share/gocode/src/github.com/Shopify/sarama ]; then
    log "installing ${APT_PKGS[*]}"
    apt-get install -y --no-install-recommends "${APT_PKGS[@]}" >/dev/null 2>&1 \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${APT_PKGS[@]}" >/dev/null; }
fi
VENV="$ROOT/target/conformance-cross-venv"
if ! "$VENV/bin/python" -c "import confluent_kafka, sys; sys.exit(confluent_kafka.version()[0] != '$CONFLUENT_KAFKA_VERSION')" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
        "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
fi
PY="$VENV/bin/python"

log "building the RocketMQ client program (first build takes several minutes)"
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
rocketmq_client_build --quiet
RMQ="$ROCKETMQ_CLIENT"

WORK="$(mktemp -d)"
mkdir -p "$WORK/go" "$WORK/s1" "$WORK/s2"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$ROOT/target/conformance-cross-gocache" GOFLAGS= \
    go build -o "$WORK/go/cross-sarama" "$HERE/sarama/main.go" 2>"$WORK/go/build.log" \
    || { cat "$WORK/go/build.log"; die "sarama build"; }

# --- broker --------------------------------------------------------------------
cleanup() {
    rokka_stop
    if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT
START=$(date +%s)
# The disk is shared with other builds: do not refuse appends or delete
# segments early when it is briefly nearly full; small CommitLog segments.
printf '%s\n' rokka.diskRefuseRatio=100 cleanFileForciblyEnable=false \
    mapedFileSizeCommitLog=134217728 >"$WORK/rokka.conf"
rokka_start "$WORK" --config "$WORK/rokka.conf" || die "rokka did not start"
ADDR="$ROKKA_KAFKA" NS="$ROKKA_NAMESRV"
log "rokka: kafka $ADDR, namesrv $NS"

FAILED=()
# failed SCENARIO: records a failure; the script goes on with the next check.
failed() {
    FAILED+=("$1")
    log "FAIL: $1"
}
# rmq LOG ARGS...: runs the RocketMQ client program, keeps its PASS/FAIL lines.
rmq() {
    local out="$1"; shift
    local rc=0
    timeout 300 "$RMQ" "$NS" cross "$@" >"$out" 2>&1 || rc=$?
    grep -E '^(PASS|FAIL|cross_)' "$out" || true
    if [ "$rc" -ne 0 ]; then
        sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -E 'ERROR|panicked' | tail -5 || true
    fi
    return "$rc"
}
CHECK=("$PY" "$HERE/check.py")

# --- 1. RocketMQ producer -> Kafka consumers -------------------------------------
T1=CrossRmqToKafka
S1="$WORK/s1"
if rmq "$S1/produce.log" produce "$T1" "$S1/manifest.jsonl"; then
    if timeout 90 kcat -b "$ADDR" -C -t "$T1" -o beginning -e -q \
            -f '%p|%o|%K|%S|%T|%h\n%k%s\n' >"$S1/kcat.raw" \
        && "${CHECK[@]}" kcat "$S1/kcat.raw" "$S1/kcat.jsonl"; then
        "${CHECK[@]}" rmq2kafka "$S1/manifest.jsonl" "$S1/kcat.jsonl" kcat || failed "rocketmq-to-kafka/kcat"
    else
        failed "rocketmq-to-kafka/kcat (consume)"
    fi
    if timeout 120 "$PY" "$HERE/confluent.py" consume "$ADDR" "$T1" "$S1/confluent.jsonl"; then
        "${CHECK[@]}" rmq2kafka "$S1/manifest.jsonl" "$S1/confluent.jsonl" confluent-kafka \
            || failed "rocketmq-to-kafka/confluent-kafka"
    else
        failed "rocketmq-to-kafka/confluent-kafka (consume)"
    fi
    if timeout 120 "$WORK/go/cross-sarama" -mode consume -brokers "$ADDR" -topic "$T1" -out "$S1/sarama.jsonl"; then
        "${CHECK[@]}" rmq2kafka "$S1/manifest.jsonl" "$S1/sarama.jsonl" sarama || failed "rocketmq-to-kafka/sarama"
    else
        failed "rocketmq-to-kafka/sarama (consume)"
    fi
else
    failed "rocketmq-to-kafka/produce"
fi
log "scenario 1 done at $(( $(date +%s) - START )) s"

# --- 2. Kafka producers -> RocketMQ consumers ------------------------------------
T2=CrossKafkaToRmq
S2="$WORK/s2"
EXPR="TagB || TagC"
produced=1
for codec in lz4 zstd; do
    timeout 90 "$PY" "$HERE/confluent.py" produce "$ADDR" "$T2" "$codec" 300 "$S2/manifest-ck-$codec.jsonl" \
        || { failed "kafka-to-rocketmq/produce confluent-kafka $codec"; produced=0; }
done
for codec in gzip snappy; do
    "$PY" "$HERE/records.py" plan "sarama-$codec" 300 "$S2/plan-$codec.jsonl"
    timeout 90 "$WORK/go/cross-sarama" -mode produce -brokers "$ADDR" -topic "$T2" -codec "$codec" \
        -plan "$S2/plan-$codec.jsonl" -out "$S2/manifest-sarama-$codec.jsonl" \
        || { failed "kafka-to-rocketmq/produce sarama $codec"; produced=0; }
done
"$PY" "$HERE/records.py" kcat 200 "$S2"
KCAT_TAGS=(TagA TagB TagC "")  # records.py KCAT_TAGS
for p in 0 1 2 3; do
    hdrs=(-H src=kcat)
    [ -n "${KCAT_TAGS[$p]}" ] && hdrs+=(-H "TAGS=${KCAT_TAGS[$p]}")
    timeout 60 kcat -b "$ADDR" -P -t "$T2" -p "$p" -z lz4 -K $'\t' "${hdrs[@]}" -l "$S2/kcat-p$p.txt" \
        || { failed "kafka-to-rocketmq/produce kcat partition $p"; produced=0; }
done
if [ "$produced" = 1 ]; then
    log "kafka producers done: $(cat "$S2"/manifest-*.jsonl | wc -l) records"
    WANT_ALL="" WANT_TAG="" WORDS=""
    read -r WANT_ALL WANT_TAG WORDS < <("${CHECK[@]}" kafka-expect "$S2" "$EXPR") || true
    if [ -z "$WORDS" ]; then
        failed "kafka-to-rocketmq/expectations (check.py kafka-expect)"
    elif rmq "$S2/consume.log" consume "$T2" "$S2" "$WANT_ALL" "$WANT_TAG" "$EXPR" "$WORDS"; then
        "${CHECK[@]}" kafka2rmq "$S2" "$EXPR" "$T2" || failed "kafka-to-rocketmq (see the FAIL line above)"
    else
        failed "kafka-to-rocketmq/consume"
    fi
fi

TOOK=$(( $(date +%s) - START ))
if [ "${#FAILED[@]}" -ne 0 ]; then
    log "rokka log tail:"; grep -E 'WARN|ERROR' "$WORK/rokka.log" | tail -10 || true
    log "FAILED after ${TOOK}s: ${FAILED[*]}"
    exit 1
fi
log "all cross-protocol data scenarios passed in ${TOOK}s"
