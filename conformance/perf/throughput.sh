#!/usr/bin/env bash
# Throughput against raw limits (not part of run-all; anyone can rerun it).
# In one run, on this machine:
#   disk      dd of DD_MB MiB with conv=fdatasync next to the data directory
#   produce   Kafka produce of N_PRODUCE 1 KiB records with confluent-kafka
#             (librdkafka, acks=1, linger 5 ms, up to 100k records queued),
#             against rokka with ASYNC_FLUSH, then SYNC_FLUSH: MiB/s and the
#             ratio to the dd figure
#   raw produce  the same N_PRODUCE records from loadgen/ (Rust, requests
#             pre-encoded, about 1.5 µs of client CPU per record): 3 producers
#             (one connection per partition, 8 requests of 512 records in
#             flight), and 63 producers (21 connections per partition, one
#             request of 64 records in flight on each); ratio to dd and
#             SYNC/ASYNC
#   senders   RocketMQ sync sends of 1 KiB from 64 concurrent senders, one
#             send in flight on each: rmq_load.py (Python) and loadgen/ (Rust),
#             ASYNC_FLUSH and SYNC_FLUSH: msg/s and SYNC/ASYNC
#   fetch     Kafka fetch of the produced records from the beginning with
#             kcat (librdkafka), MiB/s and the ratio to loopback TCP bandwidth
#             (kafka_rate.py loopback, LOOP_MB MiB in 1 MiB writes)
# Rates are wall clock on a shared machine: compare figures of one run.
# Usage: ROKKA_BIN=target/release/rokka bash conformance/perf/throughput.sh
# Run time: about 3 minutes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
: "${ROKKA_BIN:=$repo/target/release/rokka}"
ROKKA_BIN="$(cd "$(dirname "$ROKKA_BIN")" && pwd)/$(basename "$ROKKA_BIN")"
N_PRODUCE="${N_PRODUCE:-300000}" N_SENDERS="${N_SENDERS:-40000}"
DD_MB="${DD_MB:-256}" LOOP_MB="${LOOP_MB:-2048}" PARTITIONS="${PARTITIONS:-3}"
CONFLUENT_KAFKA_VERSION=2.16.1
command -v kcat >/dev/null || apt-get install -y --no-install-recommends kcat >/dev/null
# shellcheck source=../lib/rokka.sh
. "$repo/conformance/lib/rokka.sh"
rokka_scratch
work="$ROKKA_WORK"
python_venv "$repo/target/conformance-perf-venv" \
    "import confluent_kafka as c; assert c.version()[0] == '$CONFLUENT_KAFKA_VERSION'" \
    "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
log_level=warn,rokka::startup=info,rokka::remoting=info,rokka::kafka::listener=info
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

dd_out="$(dd if=/dev/zero of="$work/dd.bin" bs=1M count="$DD_MB" conv=fdatasync 2>&1)"
rm -f "$work/dd.bin"
# dd's last line: "... bytes ... copied, S s, R UNIT/s"; recompute MiB/s from bytes and seconds.
disk=$(echo "$dd_out" | tail -1 | awk -F', ' '{split($1, b, " "); split($(NF - 1), s, " "); printf "%.1f", b[1] / s[1] / 1048576}')
loop=$("$PY" "$here/kafka_rate.py" loopback "$LOOP_MB")
CARGO_TARGET_DIR="$repo/target/conformance-perf" cargo build --release --locked --quiet \
    --manifest-path "$here/loadgen/Cargo.toml"
loadgen="$repo/target/conformance-perf/release/rokka-perf-loadgen"
# Runs a load that ends with "sent N in S s" (1 KiB messages); prints "<MiB/s> <msg/s>".
rate_of() {
    "$@" | awk '$1 == "sent" {printf "%.1f %.0f\n", $2 * 1024 / $4 / 1048576, $2 / $4}'
}
echo "raw disk (dd $DD_MB MiB, conv=fdatasync): $disk MiB/s; loopback TCP: $loop MiB/s"

for flush in ASYNC_FLUSH SYNC_FLUSH; do
    rm -rf "$work/data"
    printf 'flushDiskType=%s\nnum.partitions=%s\n' "$flush" "$PARTITIONS" >"$work/rokka.conf"
    ROKKA_LOG_LEVEL="$log_level" rokka_start "$work" -c "$work/rokka.conf" || exit 1
    read -r mib rps < <("$PY" "$here/kafka_rate.py" produce "$ROKKA_KAFKA" PerfTp "$N_PRODUCE")
    echo "$flush kafka produce: $mib MiB/s ($rps rec/s), $(ratio "$mib" "$disk") of raw disk"
    read -r mib rps < <(rate_of "$loadgen" kafka "$ROKKA_KAFKA" PerfTp "$N_PRODUCE" 3 1024 512 8 1)
    echo "$mib" >"$work/raw3-$flush"
    echo "$flush kafka raw produce, 3 producers: $mib MiB/s ($rps rec/s), $(ratio "$mib" "$disk") of raw disk"
    read -r mib rps < <(rate_of "$loadgen" kafka "$ROKKA_KAFKA" PerfTp "$N_PRODUCE" 3 1024 64 1 21)
    echo "$mib" >"$work/raw63-$flush"
    echo "$flush kafka raw produce, 63 producers: $mib MiB/s ($rps rec/s), $(ratio "$mib" "$disk") of raw disk"
    read -r _ rate < <(rate_of python3 "$here/rmq_load.py" "$ROKKA_REMOTING" PerfSenders "$N_SENDERS" 64)
    echo "$rate" >"$work/senders-$flush"
    echo "$flush rocketmq 64 senders (Python): $rate msg/s"
    read -r _ rate < <(rate_of "$loadgen" rmq "$ROKKA_REMOTING" PerfSenders "$N_SENDERS" 64)
    echo "$rate" >"$work/rsenders-$flush"
    echo "$flush rocketmq 64 senders (Rust): $rate msg/s"
    if [ "$flush" = ASYNC_FLUSH ]; then
        # kcat: a Python consumer loop would be the bottleneck, not the broker.
        s0=$(date +%s.%N)
        timeout 300 kcat -b "$ROKKA_KAFKA" -C -t PerfTp -o beginning -c "$N_PRODUCE" -q -f '\n' >/dev/null
        s1=$(date +%s.%N)
        read -r mib rps < <(awk -v a="$s0" -v b="$s1" -v n="$N_PRODUCE" \
            'BEGIN {printf "%.1f %.0f\n", n * 1024 / (b - a) / 1048576, n / (b - a)}')
        echo "kafka fetch (kcat): $mib MiB/s ($rps rec/s), $(ratio "$mib" "$loop") of loopback"
    fi
    rokka_stop
done
for k in raw3 raw63 senders rsenders; do
    echo "SYNC_FLUSH / ASYNC_FLUSH, $k: $(ratio "$(cat "$work/$k-SYNC_FLUSH")" "$(cat "$work/$k-ASYNC_FLUSH")")"
done
