#!/usr/bin/env bash
# Cluster benchmarks (not part of CI; numbers go to BENCHMARKS.md):
#   1. produce throughput, confluent-kafka, 1 KiB records over 4 partitions:
#      a single node (acks=all), three nodes SYNC_MASTER with
#      min.insync.replicas=2 (acks=all, RF 3), two nodes ASYNC_MASTER
#      (acks=1, RF 2); each cluster figure also as a ratio of the single node;
#   2. replica catch-up: a slave stopped while BENCH_CATCHUP_MSGS records
#      are written, restarted, timed until its log end offsets reach the
#      master's; bytes appended on the master meanwhile / time, next to a
#      raw sequential write with dd (conv=fdatasync) in the same directory.
# Failover time p50/max comes from the suite itself (run.sh prints it).
# Usage: ROKKA_BIN=target/release/rokka conformance/cluster/bench.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
N="${BENCH_MSGS:-100000}"
CATCHUP="${BENCH_CATCHUP_MSGS:-200000}"
PY="$ROOT/target/conformance-crash-venv/bin/python"
"$PY" -c "import confluent_kafka" || { echo "run conformance/cluster/run.sh once first (venv)"; exit 1; }
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
WORK="$(mktemp -d "${BENCH_DIR:-/tmp}/rokka-cluster-bench.XXXXXX")"
cleanup() {
    rokka_stop
    cl_stop_all 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
rate() { sed -n 's/.* = \([0-9]*\) msg\/s.*/\1/p' "$1"; }

# --- single node ---------------------------------------------------------------
printf 'mapedFileSizeCommitLog=1073741824\ndefaultTopicQueueNums=4\n' >"$WORK/single.conf"
mkdir -p "$WORK/single"
rokka_start "$WORK/single" --config "$WORK/single.conf"
"$PY" "$HERE/bench_produce.py" "$ROKKA_KAFKA" bench "$N" 1024 all single-node-acks-all | tee "$WORK/r1"
rokka_stop

# --- three nodes, SYNC_MASTER, min.insync.replicas=2 --------------------------------
CL_NODES=(1 2 3)
# shellcheck source=nodes.sh
. "$HERE/nodes.sh"
cl_plan_loopback "$WORK/rf3"
cl_write_configs "defaultTopicQueueNums=4"
for i in "${CL_NODES[@]}"; do cl_launch "$i"; done
for i in "${CL_NODES[@]}"; do cl_wait_ready "$i"; done
cl_wait_stable 60 3 || { echo "RF 3 cluster did not settle"; exit 1; }
"$PY" "$HERE/bench_produce.py" "$(cl_bootstrap)" bench "$N" 1024 all rf3-sync-acks-all | tee "$WORK/r3"

# --- catch-up, on the same cluster -----------------------------------------------------
M=$CL_MASTER
S=""
for i in "${CL_NODES[@]}"; do [ "$i" = "$M" ] || { S=$i; break; }; done
cl_stop "$S"
appended() {
    curl -s "http://${HOST[$M]}:${HPORT[$M]}/metrics" |
        awk '/^rokka_store_appended_bytes_total{kind="kafka"}/ { printf "%.0f\n", $2 }'
}
b0="$(appended)"
"$PY" "$HERE/bench_produce.py" "$(cl_bootstrap)" catchup "$CATCHUP" 1024 all catchup-load >/dev/null
b1="$(appended)"
t0=$(date +%s.%N)
cl_start "$S"
cl_wait_caught_up "$S" "$M" 300 catchup
t1=$(date +%s.%N)
awk -v a="$b0" -v b="$b1" -v s="$t0" -v e="$t1" 'BEGIN {
    printf "BENCH replica-catch-up %.1f MB in %.2f s = %.1f MB/s (restart included)\n",
        (b - a) / 1e6, e - s, (b - a) / 1e6 / (e - s) }'
dd if=/dev/zero of="$WORK/dd.bin" bs=1M count=512 conv=fdatasync 2>&1 | tail -n 1 | sed 's/^/BENCH raw-disk dd: /'
rm -f "$WORK/dd.bin"
cl_stop_all

# --- two nodes, ASYNC_MASTER, acks=1 ------------------------------------------------------
CL_NODES=(1 2)
cl_plan_loopback "$WORK/rf2"
cl_write_configs "defaultTopicQueueNums=4" "brokerRole=ASYNC_MASTER" "min.insync.replicas=1"
for i in "${CL_NODES[@]}"; do cl_launch "$i"; done
for i in "${CL_NODES[@]}"; do cl_wait_ready "$i"; done
cl_wait_stable 60 2 || { echo "RF 2 cluster did not settle"; exit 1; }
"$PY" "$HERE/bench_produce.py" "$(cl_bootstrap)" bench "$N" 1024 1 rf2-async-acks-1 | tee "$WORK/r2"
cl_stop_all

awk -v s="$(rate "$WORK/r1")" -v a="$(rate "$WORK/r3")" -v b="$(rate "$WORK/r2")" 'BEGIN {
    printf "BENCH ratio to single node: RF 3 sync %.2f, RF 2 async %.2f\n", a / s, b / s }'
