#!/usr/bin/env bash
# Log compaction conformance (ADR 010): drives a real rokka ($ROKKA_BIN)
# with real clients.
#   kafka-python (Debian python3-kafka) AdminClient creates a topic with
#     cleanup.policy=compact and a plain one; kcat (Debian) produces many
#     versions of five keys with tombstones (-Z) to both.
#   POST /admin/compact forces a cleaner pass; kcat reads from the
#     beginning: only the latest record per key (tombstones kept, within
#     delete.retention.ms) at its original, increasing offset; the plain
#     topic is untouched; the cleaner's metrics moved. The same with lz4
#     batches (decompressed, rebuilt uncompressed).
#   rocketmq-client-rust (the RocketMQ suite's client, `cross consume`):
#     a push and a lite pull consumer read the compacted topic: exactly the
#     survivors, at their Kafka offsets, with their keys and values.
#   Crash: rokka started with ROKKA_COMPACTION_ABORT_AT=after-journal
#     aborts in the middle of a pass; restarted, it reads compacted (the
#     journal is re-applied), and again after another pass.
# Installs what it needs, binds 127.0.0.1 on free ports, bounds every wait.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
export DEBIAN_FRONTEND=noninteractive

log() { printf '[compaction-conformance] %s\n' "$*"; }
fail() { log "FAIL: $*"; exit 1; }

APT_PKGS=(kcat python3-kafka)
if ! command -v kcat >/dev/null 2>&1 || ! /usr/bin/python3 -c 'import kafka' >/dev/null 2>&1; then
    log "installing ${APT_PKGS[*]}"
    apt-get install -y --no-install-recommends "${APT_PKGS[@]}" >/dev/null 2>&1 \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${APT_PKGS[@]}" >/dev/null; }
fi
PY=(/usr/bin/python3 "$HERE/check.py")

WORK="$(mktemp -d)"
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
log "building the rocketmq-client-rust scenario program (no-op when up to date)"
rocketmq_client_build -q
cleanup() {
    rokka_stop
    if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
on_error() { log "rokka log tail:"; tail -30 "$WORK/rokka.log" || true; }
trap 'on_error' ERR

K() { timeout 40 kcat -b "$ROKKA_KAFKA" "$@"; }
read_topic() { K -C -t "$1" -p 0 -o beginning -e -q -f '%o|%k|%S|%s\n'; }

rokka_start "$WORK" || fail "rokka did not start"
log "rokka kafka at $ROKKA_KAFKA, http at $ROKKA_HTTP"

timeout 60 "${PY[@]}" create "$ROKKA_KAFKA" compacted cleanup.policy=compact delete.retention.ms=86400000
timeout 60 "${PY[@]}" create "$ROKKA_KAFKA" plain cleanup.policy=delete

N=300
"${PY[@]}" produce "$N" 1 >"$WORK/round1.txt"
for t in compacted plain; do
    K -P -t "$t" -p 0 -K $'\t' -Z -l "$WORK/round1.txt"
done
read_topic plain >"$WORK/plain.before"
[ "$(wc -l <"$WORK/plain.before")" -eq "$N" ] || fail "plain topic has $(wc -l <"$WORK/plain.before") records, want $N"
[ "$(read_topic compacted | wc -l)" -eq "$N" ] || fail "compacted topic before the pass is not whole"

log "forcing a cleaner pass"
timeout 90 "${PY[@]}" compact "$ROKKA_HTTP"
"${PY[@]}" expect "$WORK/round1.txt" >"$WORK/expected1"
read_topic compacted >"$WORK/got1"
diff -u "$WORK/expected1" "$WORK/got1" || fail "compacted view differs from the latest record per key"
grep -q '|-1|' "$WORK/got1" || fail "no tombstone kept (the data has one as a key's latest)"
read_topic plain | diff -u "$WORK/plain.before" - || fail "the plain topic changed"
# Reading from a removed offset starts at the next survivor.
first_kept=$(head -1 "$WORK/got1" | cut -d'|' -f1)
if [ "$first_kept" -gt 0 ]; then
    K -C -t compacted -p 0 -o 0 -e -q -f '%o\n' | head -1 | grep -qx "$first_kept" \
        || fail "a fetch at offset 0 does not start at the first survivor $first_kept"
fi
metrics=$(timeout 10 /usr/bin/python3 -c "import urllib.request,sys; print(urllib.request.urlopen('http://$ROKKA_HTTP/metrics').read().decode())")
removed=$(printf '%s\n' "$metrics" | sed -n 's/^rokka_store_compaction_records_removed_total \([0-9]*\)/\1/p')
[ "${removed:-0}" -ge $((N - 5)) ] || fail "records removed metric is ${removed:-missing}"
log "pass ok: $(wc -l <"$WORK/got1") of $N records remain, metric records_removed=$removed"

# RocketMQ readers see the same compacted view.
survivors=$(wc -l <"$WORK/expected1")
mkdir -p "$WORK/rmq"
timeout 300 "$ROCKETMQ_CLIENT" "$ROKKA_NAMESRV" cross consume compacted "$WORK/rmq" \
    "$survivors" 0 '*' '' >"$WORK/rmq.log" 2>&1 \
    || { tail -20 "$WORK/rmq.log"; fail "rocketmq-client-rust could not read the compacted topic"; }
for reader in push lite; do
    "${PY[@]}" rocketmq "$WORK/expected1" "$WORK/rmq/$reader.jsonl" \
        || fail "the RocketMQ $reader consumer did not see the compacted view"
done
log "rocketmq-client-rust ok"

# Compressed batches (lz4) are decompressed by the cleaner and rebuilt.
timeout 60 "${PY[@]}" create "$ROKKA_KAFKA" zipped cleanup.policy=compact
K -P -t zipped -p 0 -K $'\t' -Z -z lz4 -l "$WORK/round1.txt"
timeout 90 "${PY[@]}" compact "$ROKKA_HTTP" >/dev/null
read_topic zipped | diff -u "$WORK/expected1" - || fail "lz4 topic not compacted"
log "lz4 ok"

# --- crash in the middle of a pass ------------------------------------------
"${PY[@]}" produce 200 2 >"$WORK/round2.txt"
K -P -t compacted -p 0 -K $'\t' -Z -l "$WORK/round2.txt"
rokka_stop
log "restarting with ROKKA_COMPACTION_ABORT_AT=after-journal"
ROKKA_COMPACTION_ABORT_AT=after-journal rokka_start "$WORK" || fail "rokka did not restart"
if timeout 90 "${PY[@]}" compact "$ROKKA_HTTP" >/dev/null 2>&1; then
    fail "the pass finished instead of aborting"
fi
for _ in $(seq 1 50); do kill -0 "$ROKKA_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$ROKKA_PID" 2>/dev/null && fail "rokka did not abort"
ROKKA_PID=""
[ -f "$WORK/data/compaction.journal" ] || fail "no journal left by the aborted pass"
rokka_start "$WORK" || fail "rokka did not start after the abort"
cat "$WORK/round1.txt" "$WORK/round2.txt" >"$WORK/all.txt"
"${PY[@]}" expect "$WORK/all.txt" >"$WORK/expected2"
# The survivors of round 1 keep their offsets; round 2 starts at N.
read_topic compacted >"$WORK/got2"
diff -u "$WORK/expected2" "$WORK/got2" || fail "after the crash the topic does not read compacted"
[ -f "$WORK/data/compaction.journal" ] && fail "the journal was not consumed at start"
timeout 90 "${PY[@]}" compact "$ROKKA_HTTP" >/dev/null
read_topic compacted | diff -u "$WORK/expected2" - || fail "a pass after the crash changed the view"
read_topic plain | diff -u "$WORK/plain.before" - || fail "the plain topic changed"
log "crash ok"
log "PASS"
