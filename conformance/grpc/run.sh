#!/usr/bin/env bash
# gRPC conformance: the RocketMQ 5.x Python SDK (rocketmq-python-client from
# PyPI) against a real rokka on its gRPC port: normal, FIFO, delay and
# transactional sends; SimpleConsumer receive -> ack, redelivery after the
# invisible time, change of invisible duration, FIFO order per group,
# transaction back-checks through Telemetry, PushConsumer with a retry,
# retry then DLQ (retryMaxTimes 1),
# a SQL92 property filter. Then the Rust SDK (crate rocketmq 5.0.0, the
# program in rust/, its own Cargo.lock, built into target/conformance-grpc):
# the same sends, receive -> ack, redelivery, FIFO order, transactions with
# back-checks, retry then DLQ. And cross.py: records written by
# confluent-kafka received by the Python SDK, and SDK sends read by Kafka.
#
# Then cluster.sh: the Rust SDK against three rokka processes in two broker
# groups, a topic spread over both (ADR 021 "Cluster mode").
#
# Usage: ROKKA_BIN=target/release/rokka conformance/grpc/run.sh
# (GRPC_SDKS="python rust cluster" by default; name one to run only its suite.)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$here/../.." && pwd)"
: "${ROKKA_BIN:=$ROOT/target/release/rokka}"
[ -x "$ROKKA_BIN" ] || { echo "ROKKA_BIN=$ROKKA_BIN is not executable" >&2; exit 1; }
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
: "${GRPC_SDKS:=python rust cluster}"
sdk() { [[ " $GRPC_SDKS " == *" $1 "* ]]; }

# confluent-kafka for the cross-ecosystem scenarios (cross.py).
sdk python && python_venv "$ROOT/target/conformance-grpc-venv" \
    "import rocketmq, confluent_kafka as c, importlib.metadata as m; assert m.version('rocketmq-python-client') == '5.1.2' and c.version()[0] == '2.16.1'" \
    "rocketmq-python-client==5.1.2" "confluent-kafka==2.16.1"

if sdk rust; then
    echo "building the Rust SDK scenarios (first build takes several minutes)"
    CARGO_TARGET_DIR="$ROOT/target/conformance-grpc" cargo build --release --locked \
        --manifest-path "$here/rust/Cargo.toml"
fi
rust_client="$ROOT/target/conformance-grpc/release/rokka-grpc-rust-conformance"

rokka_scratch
# The FIFO scenarios' groups consume orderly (consumeMessageOrderly) and the
# DLQ scenarios' groups (gPyDlq, gRustDlq) retry once (retryMaxTimes 1),
# set the way an operator's subscription group config is: in the broker's
# subscriptionGroup.json.
mkdir -p "$ROKKA_WORK/data/config"
cat >"$ROKKA_WORK/data/config/subscriptionGroup.json" <<'JSON'
{"subscriptionGroupTable": {"gFifo": {"groupName": "gFifo", "consumeEnable": true,
  "consumeFromMinEnable": true, "consumeBroadcastEnable": true,
  "consumeMessageOrderly": true, "retryQueueNums": 1, "retryMaxTimes": 16,
  "groupRetryPolicy": {"type": "CUSTOMIZED"}, "brokerId": 0,
  "whichBrokerWhenConsumeSlowly": 1, "notifyConsumerIdsChangedEnable": true,
  "groupSysFlag": 0, "consumeTimeoutMinute": 15, "attributes": {}},
 "gRustFifo": {"groupName": "gRustFifo", "consumeEnable": true,
  "consumeFromMinEnable": true, "consumeBroadcastEnable": true,
  "consumeMessageOrderly": true, "retryQueueNums": 1, "retryMaxTimes": 16,
  "brokerId": 0, "whichBrokerWhenConsumeSlowly": 1, "groupSysFlag": 0,
  "notifyConsumerIdsChangedEnable": true, "consumeTimeoutMinute": 15, "attributes": {}},
 "gPyDlq": {"groupName": "gPyDlq", "consumeEnable": true,
  "consumeFromMinEnable": true, "consumeBroadcastEnable": true,
  "consumeMessageOrderly": false, "retryQueueNums": 1, "retryMaxTimes": 1,
  "brokerId": 0, "whichBrokerWhenConsumeSlowly": 1, "groupSysFlag": 0,
  "notifyConsumerIdsChangedEnable": true, "consumeTimeoutMinute": 15, "attributes": {}},
 "gRustDlq": {"groupName": "gRustDlq", "consumeEnable": true,
  "consumeFromMinEnable": true, "consumeBroadcastEnable": true,
  "consumeMessageOrderly": false, "retryQueueNums": 1, "retryMaxTimes": 1,
  "brokerId": 0, "whichBrokerWhenConsumeSlowly": 1, "groupSysFlag": 0,
  "notifyConsumerIdsChangedEnable": true, "consumeTimeoutMinute": 15, "attributes": {}}},
 "dataVersion": {"counter": 1, "stateVersion": 0, "timestamp": 0}}
JSON
# Back-checks of unresolved transactions after 1 s, every second; SQL92.
rokka_start "$ROKKA_WORK" --override transactionTimeOut=1000 \
    --override transactionCheckInterval=1000 --override enablePropertyFilter=true ||
    fail "rokka did not start"
[ -n "$ROKKA_GRPC" ] || fail "no 'grpc listening on' line in the log"
echo "rokka gRPC on $ROKKA_GRPC"
# The SDK logs to ~/logs/rocketmq_python; keep that in the scratch dir.
if sdk python; then
    HOME="$ROKKA_WORK" timeout 150 "$PY" "$here/sdk.py" "$ROKKA_GRPC" || {
        tail -50 "$ROKKA_LOG" >&2
        fail "Python SDK scenarios"
    }
    # Kafka-written records received by the SDK, SDK sends read by Kafka.
    HOME="$ROKKA_WORK" timeout 120 "$PY" "$here/cross.py" "$ROKKA_GRPC" "$ROKKA_KAFKA" || {
        tail -50 "$ROKKA_LOG" >&2
        fail "cross-ecosystem scenarios (Python SDK and confluent-kafka)"
    }
fi
if sdk rust; then
    start=$(date +%s)
    # The SDK logs to the terminal; the scenario lines are picked out.
    status=0
    HOME="$ROKKA_WORK" timeout 170 "$rust_client" "$ROKKA_GRPC" >"$ROKKA_WORK/rust.log" 2>&1 ||
        status=$?
    grep -E "^(PASS|FAIL|[0-9]+ passed)|took" "$ROKKA_WORK/rust.log" || true
    echo "Rust SDK scenarios took $(( $(date +%s) - start )) s"
    if [ "$status" -ne 0 ]; then
        tail -50 "$ROKKA_WORK/rust.log" >&2
        tail -50 "$ROKKA_LOG" >&2
        fail "Rust SDK scenarios (exit $status)"
    fi
fi
if sdk cluster; then
    rokka_stop
    start=$(date +%s)
    ROKKA_BIN="$ROKKA_BIN" "$here/cluster.sh" || fail "Rust SDK cluster scenario (cluster.sh)"
    echo "cluster scenario took $(( $(date +%s) - start )) s"
fi
