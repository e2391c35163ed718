#!/usr/bin/env bash
# Replica catch-up benchmark (not part of CI; numbers go to BENCHMARKS.md §11):
# an EMPTY node joins a master that already holds about 1 GB and is timed
# until it holds the whole log, next to a raw sequential write with dd
# (conv=fdatasync) of the same size in the same directory, in the same run.
#
#   1. node 1 alone (controller.quorum.voters = node 1, ASYNC_MASTER,
#      min.insync.replicas=1) is filled with BENCH_FILL_MSGS records of 1 KiB
#      (default 1,000,000: ~1.05 GB of CommitLog) by confluent-kafka, acks=1;
#   2. node 2 starts with an empty data dir and rokka.clusterListen: it joins
#      as a Raft learner, registers in broker-a and replicates the CommitLog
#      as a slave (ADR 015, README "Adding a node"); the clock runs from its
#      launch (process start included) until its per-partition log end
#      offsets reach the master's (cl_wait_caught_up);
#   3. dd if=/dev/zero bs=1M count=<same MB> conv=fdatasync in the same dir.
# Prints `BENCH catch-up ...`, `BENCH raw-disk ...` and their ratio.
# Needs ~3x the fill size free under BENCH_DIR (default /tmp).
# Usage: ROKKA_BIN=target/release/rokka conformance/cluster/catchup.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
FILL="${BENCH_FILL_MSGS:-1000000}"
PY="$ROOT/target/conformance-crash-venv/bin/python"
"$PY" -c "import confluent_kafka" || { echo "run conformance/cluster/run.sh once first (venv)"; exit 1; }
WORK="$(mktemp -d "${BENCH_DIR:-/tmp}/rokka-catchup-bench.XXXXXX")"
CL_NODES=(1 2)
# shellcheck source=nodes.sh
. "$HERE/nodes.sh"
cleanup() {
    cl_stop_all 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

cl_plan_loopback "$WORK/c"
# Node 1 is the only voter; node 2 gets the same keys plus its own
# rokka.clusterListen, so it is a learner that joins by itself.
CL_NODES=(1)
cl_write_configs "defaultTopicQueueNums=4" "brokerRole=ASYNC_MASTER" "min.insync.replicas=1"
CL_NODES=(1 2)
sed -e "s/^node.id=1$/node.id=2/" \
    -e "s/^haListenPort=.*/haListenPort=${HAPORT[2]}/" \
    -e "s/^listenPort=.*/listenPort=${BPORT[2]}/" \
    -e "s/^rokka.namesrvPort=.*/rokka.namesrvPort=${NSPORT[2]}/" \
    -e "s/^rokka.kafkaPort=.*/rokka.kafkaPort=${KPORT[2]}/" \
    -e "s/^rokka.httpPort=.*/rokka.httpPort=${HPORT[2]}/" \
    "$CL_DIR/node-1.properties" >"$CL_DIR/node-2.properties"
echo "rokka.clusterListen=${HOST[2]}:${RPORT[2]}" >>"$CL_DIR/node-2.properties"
mkdir -p "$CL_DIR/node-2"

cl_start 1
CL_ONLY=1 cl_wait_stable 60 1 || { echo "node 1 did not become master"; exit 1; }
"$PY" "$HERE/bench_produce.py" "${HOST[1]}:${KPORT[1]}" catchup "$FILL" 1024 1 fill | sed 's/^BENCH /fill: /'
bytes="$(curl -s "http://${HOST[1]}:${HPORT[1]}/metrics" |
    awk '/^rokka_store_appended_bytes_total\{/ { s += $2 } END { printf "%.0f\n", s }')"

t0=$(date +%s.%N)
cl_launch 2
cl_wait_caught_up 2 1 900 catchup || { echo "node 2 did not catch up within 900 s"; exit 1; }
t1=$(date +%s.%N)
CL_ONLY="1 2" cl_wait_stable 60 2 || echo "note: node 2 caught up but is not in the in-sync set yet"
cl_stop_all

mb=$(((bytes + 999999) / 1000000))
dd_out="$(dd if=/dev/zero of="$WORK/dd.bin" bs=1M count="$mb" conv=fdatasync 2>&1 | tail -n 1)"
rm -f "$WORK/dd.bin"
# dd's last line: "<bytes> bytes (...) copied, <secs> s, <rate>"
awk -v b="$bytes" -v s="$t0" -v e="$t1" -v dd="$dd_out" 'BEGIN {
    r = b / 1e6 / (e - s)
    n = split(dd, f, ", ")
    split(f[1], w, " ")
    split(f[n - 1], t, " ")
    d = w[1] / 1e6 / t[1]
    printf "BENCH catch-up: empty slave replicated %.1f MB in %.2f s = %.1f MB/s (process start included)\n", b / 1e6, e - s, r
    printf "BENCH raw-disk: dd %.1f MB conv=fdatasync in %.2f s = %.1f MB/s\n", w[1] / 1e6, t[1], d
    printf "BENCH ratio catch-up / raw disk: %.2f\n", r / d
}'
