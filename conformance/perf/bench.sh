#!/usr/bin/env bash
# Broker CPU per message (not part of run-all; anyone can rerun it):
#   rmq     RocketMQ sync sends of 1 KiB: rmq_load.py keeps one SEND_MESSAGE_V2
#           in flight on each of RMQ_CONNS connections (JSON header, 4.9.x fields)
#   k1      Kafka produce, one record per request: kcat, acks=1, linger.ms=0,
#           batch.num.messages=1 (librdkafka pipelines the requests)
#   kbatch  Kafka produce, batched: kcat, acks=1, linger.ms=5, default batching
#   rpull   RocketMQ pull of what rmq stored: pull_load.py, PULL_MESSAGE with
#           maxMsgNums 32 over 4 queues from offset 0, one request in flight
#   kfetch  Kafka fetch of what kbatch stored: kcat consumer from the beginning
# Part 1 runs each load ROUNDS times against one release rokka and reports the
# rokka process's CPU (utime+stime from /proc/<pid>/stat) per message, each
# round and the median. Part 2 (CALLGRIND=1, the default) runs the same loads,
# smaller, against rokka under `valgrind --tool=callgrind`: counters are zeroed
# after a warm-up and dumped after the load, so the figure is user-space
# instructions of the whole process per message (all threads, kernel excluded),
# repeatable on a shared machine. ASYNC_FLUSH (the default config).
# Usage: ROKKA_BIN=target/release/rokka bash conformance/perf/bench.sh
# Run time: about 1 minute for part 1, 1-2 minutes for part 2.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
: "${ROKKA_BIN:=$repo/target/release/rokka}"
ROKKA_BIN="$(cd "$(dirname "$ROKKA_BIN")" && pwd)/$(basename "$ROKKA_BIN")"
ROUNDS="${ROUNDS:-3}"
N_RMQ="${N_RMQ:-40000}" N_K1="${N_K1:-100000}" N_KBATCH="${N_KBATCH:-400000}"
N_RPULL="${N_RPULL:-40000}" N_KFETCH="${N_KFETCH:-400000}"
RMQ_CONNS="${RMQ_CONNS:-4}"
CG_RMQ="${CG_RMQ:-2000}" CG_K1="${CG_K1:-4000}" CG_KBATCH="${CG_KBATCH:-40000}"
CG_RPULL="${CG_RPULL:-2000}" CG_KFETCH="${CG_KFETCH:-40000}"
LOADS="${LOADS:-rmq k1 kbatch rpull kfetch}"
CALLGRIND="${CALLGRIND:-1}"
command -v kcat >/dev/null || apt-get install -y --no-install-recommends kcat >/dev/null
# shellcheck source=../lib/rokka.sh
. "$repo/conformance/lib/rokka.sh"
rokka_scratch
work="$ROKKA_WORK"
hz="$(getconf CLK_TCK)"
# the listeners' "listening" lines and the "ready" line are info
log_level=warn,rokka::startup=info,rokka::remoting=info,rokka::kafka::listener=info

head -c 1024 /dev/zero | tr '\0' x >"$work/one"
python3 - "$work" "$N_KBATCH" <<'PY'
import sys
line = open(sys.argv[1] + "/one").read() + "\n"
with open(sys.argv[1] + "/values.txt", "w") as f:
    f.write(line * int(sys.argv[2]))
PY
values() { head -n "$1" "$work/values.txt"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$ROKKA_PID/stat"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

# load NAME COUNT [CONNS]: one run of the named load
load() {
    case "$1" in
        rmq) python3 "$here/rmq_load.py" "$ROKKA_REMOTING" PerfRmq "$2" "${3:-$RMQ_CONNS}" >/dev/null ;;
        k1) values "$2" | timeout 300 kcat -b "$ROKKA_KAFKA" -P -t PerfK1 -p 0 \
                -X acks=1 -X linger.ms=0 -X batch.num.messages=1 ;;
        kbatch) values "$2" | timeout 300 kcat -b "$ROKKA_KAFKA" -P -t PerfKb -p 0 \
                -X acks=1 -X linger.ms=5 ;;
        rpull) python3 "$here/pull_load.py" "$ROKKA_REMOTING" PerfRmq "$2" 4 32 >/dev/null ;;
        kfetch) timeout 300 kcat -b "$ROKKA_KAFKA" -C -t PerfKb -p 0 -o beginning -c "$2" \
                -q -f '\n' >/dev/null ;;
    esac
}
warm_up() { load rmq 200 1; load k1 200; load kbatch 1000; load rpull 100; load kfetch 500; }

echo "== part 1: rokka CPU per message ($ROUNDS rounds; rmq: $N_RMQ sends on $RMQ_CONNS connections, k1: $N_K1 records, kbatch: $N_KBATCH records, rpull: $N_RPULL, kfetch: $N_KFETCH)"
ROKKA_LOG_LEVEL="$log_level" rokka_start "$work" || exit 1
warm_up
for name in $LOADS; do : >"$work/cpu-$name"; done
for i in $(seq 1 "$ROUNDS"); do
    line="round $i:"
    for name in $LOADS; do
        n_var="N_${name^^}"
        n="${!n_var}"
        t0=$(cpu_ticks); s0=$(date +%s.%N)
        load "$name" "$n"
        t1=$(cpu_ticks); s1=$(date +%s.%N)
        us=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$n" 'BEGIN {printf "%.1f", d / hz * 1e6 / n}')
        rate=$(awk -v a="$s0" -v b="$s1" -v n="$n" 'BEGIN {printf "%.0f", n / (b - a)}')
        echo "$us" >>"$work/cpu-$name"
        line="$line $name ${us} us/msg (${rate} msg/s)"
    done
    echo "$line"
done
line="median CPU us/msg:"
for name in $LOADS; do line="$line $name $(median <"$work/cpu-$name")"; done
echo "$line"
rokka_stop

[ "$CALLGRIND" = 1 ] || exit 0
command -v valgrind >/dev/null || apt-get install -y --no-install-recommends valgrind >/dev/null
echo "== part 2: instructions per message under callgrind (rmq: $CG_RMQ sends on 1 connection, k1: $CG_K1, kbatch: $CG_KBATCH records, rpull: $CG_RPULL, kfetch: $CG_KFETCH)"
cat >"$work/rokka-cg" <<SH
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file="$work/cg/cg.%p" "$ROKKA_BIN" "\$@"
SH
chmod +x "$work/rokka-cg"
mkdir -p "$work/cg"
rm -rf "$work/data"
real_bin="$ROKKA_BIN"
ROKKA_BIN="$work/rokka-cg" ROKKA_LOG_LEVEL="$log_level" rokka_start "$work" || exit 1
ROKKA_BIN="$real_bin"
warm_up
for name in $LOADS; do : >"$work/ir-$name"; done
dump=0
for i in $(seq 1 "$ROUNDS"); do
    line="round $i:"
    for name in $LOADS; do
        n_var="CG_${name^^}"
        n="${!n_var}"
        callgrind_control -z "$ROKKA_PID" >/dev/null 2>&1
        load "$name" "$n" 1
        callgrind_control -d "$name-$i" "$ROKKA_PID" >/dev/null 2>&1
        dump=$((dump + 1))
        ir=$(sed -n 's/^summary: //p' "$work/cg/cg.$ROKKA_PID.$dump")
        per=$(awk -v ir="$ir" -v n="$n" 'BEGIN {printf "%.0f", ir / n}')
        echo "$per" >>"$work/ir-$name"
        line="$line $name $per Ir/msg"
        [ -z "${CG_KEEP:-}" ] || cp "$work/cg/cg.$ROKKA_PID.$dump" "$CG_KEEP/cg.$name-$i"
    done
    echo "$line"
done
line="median Ir/msg:"
for name in $LOADS; do line="$line $name $(median <"$work/ir-$name")"; done
echo "$line"
