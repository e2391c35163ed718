#!/usr/bin/env bash
# Where the time goes under a throughput load (not part of run-all).
# Starts a release rokka with FLUSH (ASYNC_FLUSH or SYNC_FLUSH), runs one
# LOAD against it while `perf record -g` samples the rokka process, and
# prints: wall time and rate, the CPU seconds of rokka and of the client
# (utime + stime), rokka's CPU and voluntary / involuntary context switches
# per message by thread (threads.py, from /proc, also with PERF=0), rokka's
# CPU by thread as perf saw it, and its top symbols (self time).
#   kafka     kafka_rate.py produce: one confluent-kafka (librdkafka)
#             producer, N records of 1 KiB, linger 5 ms (throughput.sh's load)
#   kcat      KCATS kcat producers in parallel (C, no Python per record), one
#             partition each, N records of 1 KiB in total, linger 5 ms
#   senders   rmq_load.py: 64 RocketMQ sync senders, N sends of 1 KiB
#             (throughput.sh's SYNC vs ASYNC load)
#   rsenders  the same 64 senders from loadgen/ (Rust, one thread, requests
#             pre-encoded): a client that costs a few µs per send
#   kraw      loadgen/ Kafka produce: KCONNS connections (1) to each partition,
#             KINFLIGHT (8) Produce requests of KBATCH (512) pre-encoded 1 KiB
#             records in flight on each
# Usage: FLUSH=SYNC_FLUSH LOAD=senders N=40000 \
#        ROKKA_BIN=target/release/rokka bash conformance/perf/profile.sh
# PERF=0 skips perf (rates and CPU only). OUT=dir keeps perf.data there.
# STATES=1 also samples what rokka's threads wait on during the load (states.py).
# CONF='key=value' adds a line to rokka's config (e.g. rokka.groupCommitWaitMicros=0).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
: "${ROKKA_BIN:=$repo/target/release/rokka}"
ROKKA_BIN="$(cd "$(dirname "$ROKKA_BIN")" && pwd)/$(basename "$ROKKA_BIN")"
FLUSH="${FLUSH:-ASYNC_FLUSH}" LOAD="${LOAD:-kafka}" N="${N:-300000}"
KCATS="${KCATS:-3}" PERF="${PERF:-1}" PARTITIONS="${PARTITIONS:-3}"
CONFLUENT_KAFKA_VERSION=2.16.1
command -v kcat >/dev/null || apt-get install -y --no-install-recommends kcat >/dev/null
[ "$PERF" = 0 ] || command -v perf >/dev/null ||
    apt-get install -y --no-install-recommends linux-perf >/dev/null
# shellcheck source=../lib/rokka.sh
. "$repo/conformance/lib/rokka.sh"
rokka_scratch
work="$ROKKA_WORK"
out="${OUT:-$work}"
mkdir -p "$out"
loadgen=""
if [ "$LOAD" = rsenders ] || [ "$LOAD" = kraw ]; then
    CARGO_TARGET_DIR="$repo/target/conformance-perf" cargo build --release --locked --quiet \
        --manifest-path "$here/loadgen/Cargo.toml"
    loadgen="$repo/target/conformance-perf/release/rokka-perf-loadgen"
fi
if [ "$LOAD" = kafka ]; then
    python_venv "$repo/target/conformance-perf-venv" \
        "import confluent_kafka as c; assert c.version()[0] == '$CONFLUENT_KAFKA_VERSION'" \
        "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
fi
hz="$(getconf CLK_TCK)"
log_level=warn,rokka::startup=info,rokka::remoting=info,rokka::kafka::listener=info
printf 'flushDiskType=%s\nnum.partitions=%s\n%s\n' "$FLUSH" "$PARTITIONS" "${CONF:-}" >"$work/rokka.conf"
ROKKA_LOG_LEVEL="$log_level" rokka_start "$work" -c "$work/rokka.conf" || exit 1
cpu_ticks() { awk '{print $14 + $15}' "/proc/$ROKKA_PID/stat"; }

# Warm-up: create the topic and the first segments outside the measurement.
case "$LOAD" in
    kafka | kcat)
        head -c 1024 /dev/zero | tr '\0' x >"$work/one"
        python3 - "$work" "$N" "$KCATS" <<'PY'
import sys
line = open(sys.argv[1] + "/one").read() + "\n"
n, k = int(sys.argv[2]), int(sys.argv[3])
with open(sys.argv[1] + "/values.txt", "w") as f:
    f.write(line * (n // k))
PY
        head -n 1000 "$work/values.txt" | kcat -b "$ROKKA_KAFKA" -P -t PerfTp -X linger.ms=5 ;;
    kraw)
        head -c 1024 /dev/zero | tr '\0' x | kcat -b "$ROKKA_KAFKA" -P -t PerfTp -X linger.ms=5
        "$loadgen" kafka "$ROKKA_KAFKA" PerfTp 10000 "$PARTITIONS" >/dev/null ;;
    senders | rsenders) python3 "$here/rmq_load.py" "$ROKKA_REMOTING" PerfSenders 1000 64 >/dev/null ;;
esac

run_load() {
    case "$LOAD" in
        kafka) "$PY" "$here/kafka_rate.py" produce "$ROKKA_KAFKA" PerfTp "$N" >/dev/null ;;
        kcat)
            local p pids=()
            for p in $(seq 0 $((KCATS - 1))); do
                timeout 300 kcat -b "$ROKKA_KAFKA" -P -t PerfTp -p $((p % PARTITIONS)) \
                    -X acks=1 -X linger.ms=5 -X batch.size=1048576 \
                    -X queue.buffering.max.messages=200000 <"$work/values.txt" &
                pids+=($!)
            done
            for p in "${pids[@]}"; do wait "$p"; done ;;
        senders) python3 "$here/rmq_load.py" "$ROKKA_REMOTING" PerfSenders "$N" 64 >/dev/null ;;
        rsenders) "$loadgen" rmq "$ROKKA_REMOTING" PerfSenders "$N" 64 >/dev/null ;;
        kraw) "$loadgen" kafka "$ROKKA_KAFKA" PerfTp "$N" "$PARTITIONS" 1024 \
            "${KBATCH:-512}" "${KINFLIGHT:-8}" "${KCONNS:-1}" >/dev/null ;;
    esac
}

if [ "$PERF" != 0 ]; then
    perf record -g -F 999 -o "$out/perf.data" -p "$ROKKA_PID" 2>"$work/perf.log" &
    perf_pid=$!
    sleep 0.5
fi
# The client's CPU: bash's `times` (children's user and system time) before
# and after the load, called directly (a `$(...)` subshell has no children).
child_cpu() {
    tail -1 "$1" | awk '{
        split($1, u, "m"); split($2, s, "m");
        printf "%.2f", u[1] * 60 + u[2] + s[1] * 60 + s[2]}'
}
times >"$work/times0"
python3 "$here/threads.py" snap "$ROKKA_PID" "$work/threads0"
t0=$(cpu_ticks)
s0=$(date +%s.%N)
states_pid=""
if [ "${STATES:-0}" != 0 ]; then
    python3 "$here/states.py" "$ROKKA_PID" 600 >"$work/states.txt" &
    states_pid=$!
fi
run_load
s1=$(date +%s.%N)
t1=$(cpu_ticks)
if [ -n "$states_pid" ]; then
    kill -TERM "$states_pid"
    wait "$states_pid" || true
fi
python3 "$here/threads.py" snap "$ROKKA_PID" "$work/threads1"
times >"$work/times1"
client=$(awk -v a="$(child_cpu "$work/times0")" -v b="$(child_cpu "$work/times1")" \
    'BEGIN {printf "%.2f", b - a}')
if [ "$PERF" != 0 ]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
fi
awk -v a="$s0" -v b="$s1" -v n="$N" -v d=$((t1 - t0)) -v hz="$hz" -v c="$client" 'BEGIN {
    w = b - a
    printf "wall %.2f s, %.0f msg/s, %.1f MiB/s; rokka CPU %.2f s (%.1f us/msg); client CPU %.2f s (%.1f us/msg)\n",
        w, n / w, n * 1024 / w / 1048576, d / hz, d / hz * 1e6 / n, c, c * 1e6 / n }'
echo "== rokka CPU and context switches by thread, per message (/proc)"
python3 "$here/threads.py" diff "$work/threads0" "$work/threads1" "$N"
[ -z "$states_pid" ] || cat "$work/states.txt"
curl -s "http://$ROKKA_HTTP/metrics" | grep -E '^rokka_store_(group_commit_size|sync_group_requests|fsync_seconds)_(sum|count)' || true
rokka_stop
if [ "$PERF" != 0 ]; then
    echo "== rokka CPU by thread"
    perf report -i "$out/perf.data" --no-children --sort comm --stdio 2>/dev/null |
        grep -E '^ +[0-9]' | head -12
    echo "== top symbols (self)"
    perf report -i "$out/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null |
        grep -E '^ +[0-9]' | head -"${TOP:-30}"
fi
