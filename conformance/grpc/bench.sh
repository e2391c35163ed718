#!/usr/bin/env bash
# gRPC (RocketMQ 5.x Python SDK) beside RocketMQ remoting, one release rokka,
# the loads alternating in each of ROUNDS rounds (not part of run-all):
#   gsend  gRPC sends of N 1 KiB messages: bench_load.py send, one Producer
#          of rocketmq-python-client 5.1.2, SEND_THREADS threads calling the
#          synchronous send()
#   rsend  remoting sends of N 1 KiB messages: conformance/perf/rmq_load.py,
#          one SEND_MESSAGE_V2 in flight on each of RMQ_CONNS connections
#   grecv  gRPC receive of the N gsend stored: bench_load.py receive, one
#          SimpleConsumer, RECV_THREADS threads each receive(32, 10 s) and a
#          synchronous ack of every message
#   rpull  remoting pull of PULL_N (8 N) stored before round 1 by rmq_load.py:
#          conformance/perf/pull_load.py, PULL_MESSAGE with maxMsgNums 32 over
#          4 queues from offset 0, one request in flight; more than N because
#          a pull costs rokka a few us per message and /proc counts CPU in
#          10 ms ticks
# For each: the rate (messages over the load's own clock, client start-up and
# shut-down excluded) and rokka's CPU per message (utime+stime of
# /proc/<pid>/stat before and after, as conformance/perf/bench.sh). Prints
# every round, the medians and the gRPC/remoting ratios.
# Usage: ROKKA_BIN=target/release/rokka bash conformance/grpc/bench.sh
#        (ROUNDS=3 N=5000 PULL_N=8*N SEND_THREADS=4 RECV_THREADS=4 RMQ_CONNS=4)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$here/../.." && pwd)"
: "${ROKKA_BIN:=$ROOT/target/release/rokka}"
[ -x "$ROKKA_BIN" ] || { echo "ROKKA_BIN=$ROKKA_BIN is not executable" >&2; exit 1; }
ROUNDS="${ROUNDS:-3}" N="${N:-5000}"
PULL_N="${PULL_N:-$((8 * N))}"
SEND_THREADS="${SEND_THREADS:-4}" RECV_THREADS="${RECV_THREADS:-4}" RMQ_CONNS="${RMQ_CONNS:-4}"
LOADS="gsend rsend grecv rpull"
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"

python_venv "$ROOT/target/conformance-grpc-venv" \
    "import rocketmq, importlib.metadata as m; assert m.version('rocketmq-python-client') == '5.1.2'" \
    "rocketmq-python-client==5.1.2"

rokka_scratch
work="$ROKKA_WORK"
hz="$(getconf CLK_TCK)"
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$ROKKA_PID/stat"; }

# load NAME COUNT: one run; prints "SECONDS TICKS"
load() {
    local out t0 t1
    case "$1" in
        gsend | grecv)
            local args=(send "$ROKKA_GRPC" BenchGrpc "$2" "$SEND_THREADS")
            [ "$1" = gsend ] || args=(receive "$ROKKA_GRPC" BenchGrpc gBench "$2" "$RECV_THREADS")
            # the SDK logs to ~/logs/rocketmq_python: keep that in the scratch dir
            out=$(HOME="$work" ROKKA_PID="$ROKKA_PID" "$PY" "$here/bench_load.py" "${args[@]}") ||
                return 1
            [ "$1" = gsend ] || [ "$(echo "$out" | awk '{print $4}')" = 0 ] ||
                echo "  ($1: $(echo "$out" | awk '{print $4}') redelivered)" >&2
            echo "$out" | awk '{print $2, $3}'
            ;;
        rsend | rpull)
            t0=$(cpu_ticks)
            if [ "$1" = rsend ]; then
                out=$(python3 "$ROOT/conformance/perf/rmq_load.py" "$ROKKA_REMOTING" BenchRmq "$2" \
                    "$RMQ_CONNS") || return 1
            else
                out=$(python3 "$ROOT/conformance/perf/pull_load.py" "$ROKKA_REMOTING" BenchRmq \
                    "$2" 4 32) || return 1
            fi
            t1=$(cpu_ticks)
            # "sent N in S s" / "pulled N in S s"
            echo "$out" | awk -v d=$((t1 - t0)) '{print $4, d}'
            ;;
    esac
}

echo "== gRPC beside remoting: $ROUNDS rounds, N=$N 1 KiB messages (rpull $PULL_N);" \
    "gsend $SEND_THREADS threads, grecv $RECV_THREADS threads, rsend $RMQ_CONNS connections"
ROKKA_LOG_LEVEL=warn,rokka::startup=info,rokka::remoting=info,rokka::grpc=info \
    rokka_start "$work" || exit 1
[ -n "$ROKKA_GRPC" ] || { echo "no 'grpc listening on' line in the log" >&2; exit 1; }
# warm-up: creates the topics and the group, loads the client code paths
load gsend 200 >/dev/null
load rsend 200 >/dev/null
load grecv 200 >/dev/null
load rsend "$PULL_N" >/dev/null # what rpull reads, from offset 0, each round
load rpull 100 >/dev/null
for name in $LOADS; do : >"$work/us-$name" && : >"$work/rate-$name"; done
for i in $(seq 1 "$ROUNDS"); do
    line="round $i:"
    for name in $LOADS; do
        n="$N"
        [ "$name" != rpull ] || n="$PULL_N"
        res=$(load "$name" "$n") || { tail -30 "$ROKKA_LOG" >&2; exit 1; }
        read -r secs d <<<"$res"
        us=$(awk -v d="$d" -v hz="$hz" -v n="$n" 'BEGIN {printf "%.1f", d / hz * 1e6 / n}')
        rate=$(awk -v s="$secs" -v n="$n" 'BEGIN {printf "%.0f", n / s}')
        echo "$us" >>"$work/us-$name"
        echo "$rate" >>"$work/rate-$name"
        line="$line $name $rate msg/s ${us} us/msg;"
    done
    echo "$line"
done
for name in $LOADS; do
    eval "rate_$name=$(median <"$work/rate-$name") us_$name=$(median <"$work/us-$name")"
done
# shellcheck disable=SC2154 # rate_* and us_* are set by the eval above
printf '%s\n' "median:" && printf '  %-6s %8s msg/s %8s us/msg\n' \
    gsend "$rate_gsend" "$us_gsend" rsend "$rate_rsend" "$us_rsend" \
    grecv "$rate_grecv" "$us_grecv" rpull "$rate_rpull" "$us_rpull"
ratio() {
    awk -v what="$1" -v a="$2" -v b="$3" -v c="$4" -v d="$5" 'BEGIN {
        printf "gRPC/remoting %-8s rate %.2f, CPU per message %.2f\n", what, a / b,
            (d > 0 ? c / d : 0) }'
}
# shellcheck disable=SC2154
ratio send: "$rate_gsend" "$rate_rsend" "$us_gsend" "$us_rsend"
# shellcheck disable=SC2154
ratio receive: "$rate_grecv" "$rate_rpull" "$us_grecv" "$us_rpull"
