#!/usr/bin/env bash
# Disk-full conformance: rokka on a real small file system (a 64 MiB tmpfs,
# mounted here, so it needs root; skipped with a message otherwise).
#   1. Start-up with the default 1 GiB segments and ~420 MB index files on
#      that file system exits non-zero and names the sizes.
#   2. With 4 MiB segments and a 16 MiB filler file, confluent-kafka
#      (PyPI, pinned) produces with acks=all until rokka refuses with
#      KAFKA_STORAGE_ERROR (56); every acknowledged record is read back, no
#      segment was deleted, rokka_store_disk_used_ratio{dir} agrees with df,
#      refusals are counted; after the filler is removed writes resume at
#      the next offset.
# Bounded in time, loopback only, rokka stopped and the mount removed on exit.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
CONFLUENT_KAFKA_VERSION=2.16.1

log() { printf '[disk-conformance] %s\n' "$*"; }
fail() { log "FAIL: $*"; exit 1; }

WORK="$(mktemp -d)"
MNT="$WORK/small"
mkdir -p "$MNT"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=64m tmpfs "$MNT" 2>/dev/null; then
    log "SKIP: cannot mount a tmpfs here (needs root and mount permission); the store's disk_full tests cover the refusal"
    rm -rf "$WORK"
    exit 0
fi
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
cleanup() {
    rokka_stop
    umount "$MNT" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

VENV="$ROOT/target/conformance-hygiene-venv"
if ! "$VENV/bin/python" -c "import confluent_kafka" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
        "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
fi

# --- 1. default sizes do not fit: exit non-zero with the numbers -------------
set +e
timeout 30 "$ROKKA_BIN" --bind-address 127.0.0.1 --data-dir "$MNT/data" \
    --namesrv-port 0 --listen-port 0 --kafka-port 0 --http-port 0 --grpc-port 0 >"$WORK/default.log" 2>&1
rc=$?
set -e
[ "$rc" != 0 ] && [ "$rc" != 124 ] || { cat "$WORK/default.log"; fail "rokka with 1 GiB segments on 64 MiB: exit $rc"; }
grep -q "1073741824" "$WORK/default.log" || { cat "$WORK/default.log"; fail "no segment size in the start-up error"; }
log "default sizes on a 64 MiB file system: exit $rc, $(grep -o 'the file system holding.*' "$WORK/default.log" | head -1 )"
rm -rf "$MNT/data"

# --- 2. fill, refuse, read, free, resume -------------------------------------
cat >"$WORK/broker.conf" <<CONF
mapedFileSizeCommitLog=4194304
maxMessageSize=1048576
mapedFileSizeConsumeQueue=120000
maxHashSlotNum=1000
maxIndexNum=4000
flushDiskType=SYNC_FLUSH
CONF
dd if=/dev/zero of="$MNT/filler" bs=1M count=16 status=none
# rokka_start puts the data in RUN/data: make that the small file system.
mkdir -p "$WORK/run" "$MNT/data"
ln -s "$MNT/data" "$WORK/run/data"
rokka_start "$WORK/run" --config "$WORK/broker.conf" || fail "rokka did not start"
log "rokka kafka listener at $ROKKA_KAFKA, data on a 64 MiB tmpfs"
timeout 300 "$VENV/bin/python" "$HERE/disk_full.py" "$ROKKA_KAFKA" "$ROKKA_HTTP" "$MNT" "$MNT/filler" \
    || { tail -20 "$ROKKA_LOG"; fail "disk-full scenario"; }
grep -q "retention deleted" "$ROKKA_LOG" && fail "retention deleted segments during the run"
log "ok"
