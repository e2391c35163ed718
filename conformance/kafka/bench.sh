#!/usr/bin/env bash
# Kafka end-to-end benchmark (not part of run-all): a real librdkafka producer
# and consumer (confluent-kafka) against a release rokka over loopback, beside
# the raw sequential-write bandwidth of the same directory measured in the same
# run (dd of the same byte count with fdatasync), and rokka's RSS at idle and
# after the load. Usage: ROKKA_BIN=target/release/rokka bash bench.sh [COUNT]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
: "${ROKKA_BIN:=$repo/target/release/rokka}"
count="${1:-200000}"
venv="$repo/target/kafka-bench-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check confluent-kafka==2.16.1
fi
# shellcheck source=../lib/rokka.sh
. "$repo/conformance/lib/rokka.sh"
rokka_scratch
work="$ROKKA_WORK"
ROKKA_LOG_LEVEL=warn,rokka=info rokka_start "$work" || exit 1
addr="$ROKKA_KAFKA" pid="$ROKKA_PID"
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/$pid/status"; }
echo "rokka RSS idle: $(rss) kB"
mb=$(( count * 1024 / 1000000 ))
raw=$(dd if=/dev/zero of="$work/data/raw-baseline" bs=1M count="$mb" conv=fdatasync 2>&1 | sed -n 's/.*, \([0-9.]*\) \([MG]B\)\/s$/\1 \2\/s/p')
rm -f "$work/data/raw-baseline"
echo "raw write + fdatasync of ${mb} MB in the data directory: $raw"
"$venv/bin/python" "$here/bench.py" "$addr" "$count"
echo "rokka RSS after the load: $(rss) kB (peak $(hwm) kB)"
raw2=$(dd if=/dev/zero of="$work/data/raw-baseline" bs=1M count="$mb" conv=fdatasync 2>&1 | sed -n 's/.*, \([0-9.]*\) \([MG]B\)\/s$/\1 \2\/s/p')
echo "raw write + fdatasync again after the load: $raw2"
