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
work="$(mktemp -d)"
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/data"
"$ROKKA_BIN" --bind-address 127.0.0.1 --data-dir "$work/data" --namesrv-port 0 \
    --listen-port 0 --kafka-port 0 --http-port 0 --log-level warn,rokka=info 2>"$work/rokka.log" &
pid=$!
addr=""
for _ in $(seq 1 200); do
    addr="$(sed -n 's/.*kafka listening on \([0-9.:]*\).*/\1/p' "$work/rokka.log" | head -1)"
    [ -n "$addr" ] && break
    sleep 0.1
done
[ -n "$addr" ] || { cat "$work/rokka.log"; exit 1; }
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
