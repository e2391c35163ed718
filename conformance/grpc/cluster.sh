#!/usr/bin/env bash
# The RocketMQ 5.x Rust SDK (crate rocketmq 5.0.0, the program in rust/)
# against a rokka cluster of two broker groups (ADR 021 "Cluster mode", ADR
# 024): three rokka processes ($ROKKA_BIN) on 127.0.0.1 (conformance/cluster/
# nodes.sh), broker-a = nodes {1, 2}, broker-b = node {3}, SYNC_MASTER with
# min.insync.replicas=1 (broker-b has no slave). A topic is created on
# broker-a's master and spread with `rokka admin cluster add-queues` onto
# broker-b; then the SDK, started through node 3's gRPC port (any node
# routes every group to its master), sends COUNT messages and a
# SimpleConsumer receives and acks them all. Each group's master must hold
# some of them (`rokka admin topic describe`).
#
# Usage: ROKKA_BIN=target/release/rokka conformance/grpc/cluster.sh
# Loopback only, every wait bounded, every process stopped on exit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$here/../.." && pwd)"
: "${ROKKA_BIN:=$ROOT/target/release/rokka}"
[ -x "$ROKKA_BIN" ] || { echo "ROKKA_BIN=$ROKKA_BIN is not executable" >&2; exit 1; }
: "${PY:=python3}"
command -v curl >/dev/null || { echo "cluster.sh needs curl (GET /cluster)" >&2; exit 1; }
COUNT="${COUNT:-40}"
TOPIC=GrpcSpread
fail() { echo "FAIL: $*" >&2; show_logs >&2 || true; exit 1; }

echo "building the Rust SDK scenarios (first build takes several minutes)"
CARGO_TARGET_DIR="$ROOT/target/conformance-grpc" cargo build --release --locked --quiet \
    --manifest-path "$here/rust/Cargo.toml"
rust_client="$ROOT/target/conformance-grpc/release/rokka-grpc-rust-conformance"

CL_NODES=(1 2 3)
# shellcheck source=../cluster/nodes.sh
. "$ROOT/conformance/cluster/nodes.sh"
CL_GROUP=([1]=broker-a [2]=broker-a [3]=broker-b)
WORK="$(mktemp -d)"
trap 'cl_stop_all; rm -rf "$WORK"' EXIT

cl_plan_loopback "$WORK"
cl_write_configs "defaultTopicQueueNums=4" "min.insync.replicas=1" \
    "mappedFileSizeCommitLog=33554432"
for i in "${CL_NODES[@]}"; do cl_launch "$i"; done
for i in "${CL_NODES[@]}"; do cl_wait_ready "$i" || fail "node $i did not start"; done
CL_ONLY="1 2" CL_GROUP_NAME=broker-a cl_wait_stable 60 2 || fail "broker-a has no master with 2 in sync"
ma=$CL_MASTER
CL_ONLY="3" CL_GROUP_NAME=broker-b cl_wait_stable 60 1 || fail "broker-b has no master"
echo "cluster up: broker-a master node $ma, broker-b master node 3"
admin() { "$ROKKA_BIN" admin -o json "$@"; }
grpc_of() { sed -n 's/.*grpc listening on \([0-9.:]*\).*/\1/p' "$(cl_log "$1")" | head -1; }

# On broker-a, then 2 queues on broker-b (accepted once broker-a's master
# placed the topic); node 3 holds its range once it adopted the config.
admin --broker "127.0.0.1:${BPORT[ma]}" topic create "$TOPIC" >/dev/null ||
    fail "create $TOPIC on broker-a's master"
added=""
for _ in $(seq 1 30); do
    admin --http "127.0.0.1:${HPORT[1]}" cluster add-queues "$TOPIC" broker-b 2 >/dev/null 2>&1 &&
        { added=1; break; }
    sleep 1
done
[ -n "$added" ] || fail "add-queues $TOPIC broker-b 2 not accepted within 30 s"
held=""
for _ in $(seq 1 30); do
    admin --broker "127.0.0.1:${BPORT[3]}" topic describe "$TOPIC" >/dev/null 2>&1 && { held=1; break; }
    sleep 1
done
[ -n "$held" ] || fail "node 3 never held its range of $TOPIC"
echo "$TOPIC: 4 queues on broker-a, 2 on broker-b"

status=0
HOME="$WORK" timeout 170 "$rust_client" cluster "$(grpc_of 3)" "$TOPIC" "$COUNT" gRustCluster \
    >"$WORK/rust.log" 2>&1 || status=$?
grep -E "^(PASS|FAIL|[0-9]+ passed)" "$WORK/rust.log" || true
[ "$status" -eq 0 ] || { tail -40 "$WORK/rust.log" >&2; fail "Rust SDK cluster scenario (exit $status)"; }

# Messages stored on each group's master: the sum of its queues' max offsets.
stored() {
    admin --broker "127.0.0.1:${BPORT[$1]}" topic describe "$TOPIC" |
        "$PY" -c 'import json, sys
d = json.load(sys.stdin)
qs = d.get("queues", d) if isinstance(d, dict) else d
print(sum(int(q.get("maxOffset", q.get("max_offset", 0))) for q in qs))'
}
on_a="$(stored "$ma")" || fail "describe $TOPIC on broker-a"
on_b="$(stored 3)" || fail "describe $TOPIC on broker-b"
echo "stored: broker-a $on_a, broker-b $on_b (of $COUNT)"
[ "$on_a" -gt 0 ] && [ "$on_b" -gt 0 ] || fail "the sends did not land on both groups"
[ $((on_a + on_b)) -eq "$COUNT" ] || fail "stored $((on_a + on_b)) messages, sent $COUNT"
echo "PASS gRPC cluster: $COUNT sends over both groups, all received"
