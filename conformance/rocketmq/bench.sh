#!/usr/bin/env bash
# RocketMQ end-to-end benchmark (not part of run-all): 1 KiB messages over
# loopback with the crates.io Rust client — sync sends with 16/64 senders,
# async sends with 16/64 in flight, push-consumer drain — plus rokka's RSS at
# idle and after the load. Usage: ROKKA_BIN=target/release/rokka bash bench.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
: "${ROKKA_BIN:=$repo/target/release/rokka}"
# shellcheck source=../lib/rokka.sh
. "$repo/conformance/lib/rokka.sh"
rocketmq_client_build
client="$ROCKETMQ_CLIENT"
rokka_scratch
work="$ROKKA_WORK"
ROKKA_LOG_LEVEL=warn,rokka=info rokka_start "$work" || exit 1
namesrv="$ROKKA_NAMESRV" pid="$ROKKA_PID"
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$pid/status"; }
echo "rokka RSS idle: $(rss)"
# Baseline in the same run: raw sequential write + fdatasync of 100 MB (about
# the bytes the load below writes) into the same data directory.
raw() {
    dd if=/dev/zero of="$work/data/raw-baseline" bs=1M count=100 conv=fdatasync 2>&1 \
        | sed -n 's/.*, \([0-9.]*\) \([MG]B\)\/s$/\1 \2\/s/p'
    rm -f "$work/data/raw-baseline"
}
echo "raw write + fdatasync of 100 MB in the data directory, before: $(raw)"
timeout 900 "$client" "$namesrv" bench 2>&1 | while IFS= read -r line; do
    case "$line" in
        "BENCH loaded") echo "rokka RSS after the send load: $(rss)" ;;
        BENCH*) echo "$line" ;;
    esac
done
echo "rokka RSS at the end: $(rss)"
echo "raw write + fdatasync of 100 MB in the data directory, after: $(raw)"
