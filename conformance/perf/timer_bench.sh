#!/usr/bin/env bash
# Timer messages (ADR 019) under load (not part of run-all; anyone can rerun it):
#   1. plain sends of 1 KiB with no timer pending: send rate and rokka CPU per
#      message (utime+stime from /proc/<pid>/stat), ROUNDS rounds;
#   2. PENDING timer sends (TIMER_DELAY_SEC=3600, so none falls due): their
#      own rate and CPU per message;
#   3. the plain sends of step 1 again with PENDING timers waiting;
#   4. a clean restart: time until "ready" with PENDING timers to re-index,
#      and rokka_timer_pending after it.
# Loads are conformance/perf/rmq_load.py (RMQ_CONNS synchronous senders).
# Usage: ROKKA_BIN=target/release/rokka bash conformance/perf/timer_bench.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
: "${ROKKA_BIN:=$repo/target/release/rokka}"
ROKKA_BIN="$(cd "$(dirname "$ROKKA_BIN")" && pwd)/$(basename "$ROKKA_BIN")"
ROUNDS="${ROUNDS:-3}" N_PLAIN="${N_PLAIN:-20000}" PENDING="${PENDING:-100000}"
RMQ_CONNS="${RMQ_CONNS:-4}"
# shellcheck source=../lib/rokka.sh
. "$repo/conformance/lib/rokka.sh"
rokka_scratch
work="$ROKKA_WORK"
hz="$(getconf CLK_TCK)"
export ROKKA_LOG_LEVEL=warn,rokka::startup=info,rokka::remoting=info,rokka::kafka::listener=info,rokka::broker=info

cpu_ticks() { awk '{print $14 + $15}' "/proc/$ROKKA_PID/stat"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
pending() {
    local http="$ROKKA_HTTP"
    exec 3<>"/dev/tcp/${http%:*}/${http##*:}"
    printf 'GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$http" >&3
    sed -n 's/^rokka_timer_pending \([0-9]*\).*/\1/p' <&3
    exec 3>&-
}
# measure LABEL TOPIC COUNT [PROPS]: one load; prints "LABEL: X us/msg (Y msg/s)"
measure() {
    local t0 t1 s0 s1
    t0=$(cpu_ticks); s0=$(date +%s.%N)
    RMQ_PROPS="${4:-}" python3 "$here/rmq_load.py" "$ROKKA_REMOTING" "$2" "$3" "$RMQ_CONNS" >/dev/null
    t1=$(cpu_ticks); s1=$(date +%s.%N)
    awk -v l="$1" -v d=$((t1 - t0)) -v hz="$hz" -v n="$3" -v a="$s0" -v b="$s1" \
        'BEGIN {printf "%s: %.1f us/msg (%.0f msg/s)\n", l, d / hz * 1e6 / n, n / (b - a)}'
}
plain_rounds() {
    : >"$work/cpu-$1"; : >"$work/rate-$1"
    for i in $(seq 1 "$ROUNDS"); do
        out=$(measure "round $i, $1" PerfTimerPlain "$N_PLAIN")
        echo "$out"
        echo "$out" | sed 's/.*: \([0-9.]*\) us.*/\1/' >>"$work/cpu-$1"
        echo "$out" | sed 's/.*(\([0-9]*\) msg.*/\1/' >>"$work/rate-$1"
    done
    echo "median $1: $(median <"$work/cpu-$1") us/msg, $(median <"$work/rate-$1") msg/s"
}

rokka_start "$work" || exit 1
python3 "$here/rmq_load.py" "$ROKKA_REMOTING" PerfTimerPlain 500 1 >/dev/null
echo "== plain sends, $N_PLAIN per round, no timer pending ($(pending) pending)"
plain_rounds none
echo "== $PENDING timer sends (TIMER_DELAY_SEC=3600)"
measure "timer sends" PerfTimerFill "$PENDING" $'TIMER_DELAY_SEC\x013600\x02'
echo "pending now: $(pending)"
echo "== plain sends with $PENDING timers pending"
plain_rounds pending
echo "== clean restart with $PENDING pending"
rokka_stop
s0=$(date +%s.%N)
rokka_start "$work" || exit 1
s1=$(date +%s.%N)
echo "restart to ready: $(awk -v a="$s0" -v b="$s1" 'BEGIN {printf "%.2f", b - a}') s, pending after restart: $(pending), rokka RSS $(awk '/VmRSS/ {print $2, $3}' "/proc/$ROKKA_PID/status")"
rokka_stop
