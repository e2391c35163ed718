#!/usr/bin/env bash
# Cross-protocol read benchmark (not part of run-all): how fast each
# ecosystem reads the other's data, as a ratio of reading its own, in the
# same run against the same rokka process.
#   Kafka:    kcat drains a topic written by Kafka (kcat, lz4) vs a topic
#             written by RocketMQ (1 KiB bodies) — Fetch down-converts each
#             RocketMQ message into a one-record v2 batch.
#   RocketMQ: a rocketmq-client-rust push consumer drains the RocketMQ-written
#             topic vs the lz4 Kafka-written topic — PULL decompresses each
#             batch and converts every record into a stored message.
# Each pair runs ROUNDS times alternately; the script prints every run and the
# medians. Usage: ROKKA_BIN=target/release/rokka bash conformance/cross/bench.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
: "${ROKKA_BIN:=$repo/target/release/rokka}"
N="${N:-100000}"
ROUNDS="${ROUNDS:-3}"
command -v kcat >/dev/null || apt-get install -y --no-install-recommends kcat >/dev/null
# shellcheck source=../lib/rokka.sh
. "$repo/conformance/lib/rokka.sh"
rocketmq_client_build
client="$ROCKETMQ_CLIENT"
rokka_scratch
work="$ROKKA_WORK"
ROKKA_LOG_LEVEL=warn,rokka=info rokka_start "$work" || exit 1
namesrv="$ROKKA_NAMESRV" kafka="$ROKKA_KAFKA"

# Load: N RocketMQ messages (1 KiB) and N Kafka records (1 KiB of base64, so
# lz4 has real work), both over 4 queues/partitions.
"$client" "$namesrv" read-load XRmqSrc "$N" 2>>"$work/client.log" | grep '^BENCH'
head -c $((N * 768)) /dev/urandom | base64 -w 1024 | head -n "$N" >"$work/values.txt"
timeout 300 kcat -b "$kafka" -P -t XKafkaSrc -z lz4 -X linger.ms=20 -X batch.num.messages=1000 \
    <"$work/values.txt"
echo "loaded $N RocketMQ messages into XRmqSrc and $N lz4 Kafka records into XKafkaSrc"

now() { date +%s.%N; }
kcat_drain() { # topic -> seconds
    local t0 t1 got
    t0=$(now)
    got=$(timeout 300 kcat -b "$kafka" -C -t "$1" -o beginning -e -q -f '%o\n' | wc -l)
    t1=$(now)
    [ "$got" -eq "$N" ] || { echo "kcat read $got of $N from $1" >&2; exit 1; }
    echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}'
}
rmq_drain() { # topic group -> seconds
    "$client" "$namesrv" read-drain "$1" "$2" "$N" 2>>"$work/client.log" \
        | sed -n 's/^BENCH drain-.* msgs in \([0-9.]*\) s.*/\1/p'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
: >"$work/k-same"; : >"$work/k-cross"; : >"$work/r-same"; : >"$work/r-cross"
for i in $(seq 1 "$ROUNDS"); do
    ks=$(kcat_drain XKafkaSrc); kx=$(kcat_drain XRmqSrc)
    rs=$(rmq_drain XRmqSrc "same-$i"); rx=$(rmq_drain XKafkaSrc "cross-$i")
    echo "round $i: kafka same ${ks}s cross ${kx}s | rocketmq same ${rs}s cross ${rx}s"
    echo "$ks" >>"$work/k-same"; echo "$kx" >>"$work/k-cross"
    echo "$rs" >>"$work/r-same"; echo "$rx" >>"$work/r-cross"
done
report() { # label same-file cross-file
    local s x
    s=$(median <"$2"); x=$(median <"$3")
    awk -v l="$1" -v s="$s" -v x="$x" -v n="$N" 'BEGIN {
        printf "%s: same-protocol %.0f msg/s, cross-protocol %.0f msg/s, ratio %.2f (medians of the runs above)\n",
            l, n / s, n / x, s / x }'
}
report "Kafka reader (kcat)" "$work/k-same" "$work/k-cross"
report "RocketMQ reader (rocketmq-client-rust push)" "$work/r-same" "$work/r-cross"
