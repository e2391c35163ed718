#!/usr/bin/env bash
# Kafka conformance: drives a real rokka ($ROKKA_BIN) with real clients.
#   kcat (Debian, librdkafka 2.0.x): -L, -P/-C with keys and headers, every
#     compression codec, -G balanced consumer group with commits and resume.
#   kcat with api.version.request=false and fallback 0.9.0: MessageSet v0
#     produce, Fetch v0 down-conversion, JoinGroup v0.
#   sarama 1.22.1 (Debian, GOPATH mode) with its default Config.Version
#     (Produce/Fetch v0, magic 0) and V2_1_0_0: sync + async producers,
#     partition consumer from oldest, two-member group, resume from commits.
#   kafka-python (PyPI, pinned), Debian python3-kafka 2.0.2 and
#   confluent-kafka (PyPI, pinned): idempotent producer,
#     two-member consumer group with rebalance and commits, a new member
#     resuming from the commits; confluent-kafka also offsets_for_times.
# Installs what it needs, binds 127.0.0.1 on free ports, bounds every wait,
# kills rokka on exit and fails on the first content mismatch.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
KAFKA_PYTHON_VERSION=3.0.12
CONFLUENT_KAFKA_VERSION=2.16.1
export DEBIAN_FRONTEND=noninteractive
START=$(date +%s)

log() { printf '[kafka-conformance] %s\n' "$*"; }
fail() { log "FAIL: $*"; exit 1; }

# --- clients -----------------------------------------------------------------
APT_PKGS=(kcat golang-go golang-github-shopify-sarama-dev python3-kafka)
if ! command -v kcat >/dev/null 2>&1 || ! command -v go >/dev/null 2>&1 \
    || [ ! -d /usr/share/gocode/src/github.com/Shopify/sarama ] \
    || ! /usr/bin/python3 -c 'import kafka' >/dev/null 2>&1; then
    log "installing ${APT_PKGS[*]}"
    apt-get install -y --no-install-recommends "${APT_PKGS[@]}" >/dev/null 2>&1 \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${APT_PKGS[@]}" >/dev/null; }
fi
VENV="$ROOT/target/conformance-kafka-venv"
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
    "kafka-python==$KAFKA_PYTHON_VERSION" "confluent-kafka==$CONFLUENT_KAFKA_VERSION"

# --- broker ------------------------------------------------------------------
WORK="$(mktemp -d)"
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
cleanup() {
    rokka_stop
    if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

rokka_start "$WORK" || fail "rokka did not start"
ADDR="$ROKKA_KAFKA"
log "rokka kafka listener at $ADDR"
on_error() { log "rokka log tail:"; tail -30 "$WORK/rokka.log" || true; }
trap 'on_error' ERR

K() { timeout 40 kcat -b "$ADDR" "$@"; }

# --- kcat: metadata ----------------------------------------------------------
K -L -t kc-meta >"$WORK/meta.txt" 2>&1 || fail "kcat -L"
grep -q "broker 0 at $ADDR (controller)" "$WORK/meta.txt" || { cat "$WORK/meta.txt"; fail "-L broker/controller"; }
grep -Eq 'topic "kc-meta" with [1-9][0-9]* partitions' "$WORK/meta.txt" || { cat "$WORK/meta.txt"; fail "-L auto-created topic"; }
log "kcat -L ok"

# --- kcat: keys, headers, order ----------------------------------------------
N=60
for i in $(seq 1 $N); do echo "key$i:value$i"; done >"$WORK/in.txt"
K -P -t kc-kv -K: -H trace=abc -H "n=two words" -l "$WORK/in.txt" || fail "kcat -P"
K -C -t kc-kv -o beginning -e -q -f '%p|%o|%k|%s|%h\n' >"$WORK/out.txt" || fail "kcat -C"
"$VENV/bin/python" "$HERE/check_kcat.py" "$WORK/out.txt" $N "trace=abc,n=two words" || fail "kcat keys/headers content"
log "kcat -P/-C keys+headers ok ($N records)"

# --- kcat: every codec round-trips -------------------------------------------
for z in gzip snappy lz4 zstd; do
    for i in $(seq 1 25); do echo "k$i:$z-compressible-payload-$z-$z-$z-$i"; done >"$WORK/z.txt"
    K -P -t "kc-$z" -K: -z "$z" -l "$WORK/z.txt" || fail "kcat -P -z $z"
    K -C -t "kc-$z" -o beginning -e -q -f '%p|%o|%k|%s|%h\n' >"$WORK/zout.txt" || fail "kcat -C $z"
    "$VENV/bin/python" "$HERE/check_kcat.py" "$WORK/zout.txt" 25 "" "$z" || fail "codec $z content"
    log "kcat codec $z ok"
done

# --- kcat: balanced consumer group, commit, resume ---------------------------
K -G kc-group -X auto.offset.reset=earliest -e -q -f '%p|%o|%k|%s|%h\n' -X auto.commit.interval.ms=200 kc-kv >"$WORK/g1.txt" || fail "kcat -G first run"
"$VENV/bin/python" "$HERE/check_kcat.py" "$WORK/g1.txt" $N "trace=abc,n=two words" || fail "kcat -G content"
for i in $(seq 1 10); do echo "late$i:after$i"; done | K -P -t kc-kv -K: || fail "kcat -P late"
K -G kc-group -X auto.offset.reset=earliest -e -q -f '%k\n' kc-kv >"$WORK/g2.txt" || fail "kcat -G second run"
sort "$WORK/g2.txt" >"$WORK/g2s.txt"
for i in $(seq 1 10); do echo "late$i"; done | sort >"$WORK/g2want.txt"
diff "$WORK/g2want.txt" "$WORK/g2s.txt" || fail "kcat -G did not resume from its commits"
log "kcat -G group + commit resume ok"

# --- kcat with old protocol versions (no ApiVersions, fallback 0.9.0) ---------
# Produce v1 with MessageSet v0 (converted on write), ListOffsets v0, Fetch v0
# (down-converted), JoinGroup/SyncGroup v0.
OLD=(-X api.version.request=false -X broker.version.fallback=0.9.0)
for i in $(seq 1 20); do echo "old$i:oldvalue$i"; done >"$WORK/old.txt"
K "${OLD[@]}" -P -t kc-old -K: -z gzip -p 0 -l "$WORK/old.txt" || fail "kcat fallback -P"
K "${OLD[@]}" -C -t kc-old -p 0 -o beginning -e -q -f '%p|%o|%k|%s|%h\n' >"$WORK/oldout.txt" || fail "kcat fallback -C"
sed -i 's/|$//' "$WORK/oldout.txt"
awk -F'|' '{ sub(/^old/, "key", $3); sub(/^oldvalue/, "value", $4); print $1"|"$2"|"$3"|"$4"|" }' "$WORK/oldout.txt" >"$WORK/oldnorm.txt"
"$VENV/bin/python" "$HERE/check_kcat.py" "$WORK/oldnorm.txt" 20 "" || fail "kcat fallback content"
K "${OLD[@]}" -G kc-old-group -X auto.offset.reset=earliest -e -q -f '%k\n' kc-old >"$WORK/oldg.txt" || fail "kcat fallback -G"
[ "$(wc -l <"$WORK/oldg.txt")" -eq 20 ] || fail "kcat fallback -G saw $(wc -l <"$WORK/oldg.txt") records"
log "kcat old versions (fallback 0.9.0: MessageSet v0, Fetch v0, JoinGroup v0) ok"

# --- kafka-python ------------------------------------------------------------
timeout 180 "$VENV/bin/python" "$HERE/kafka_python_scenarios.py" "$ADDR" kp || fail "kafka-python scenarios"
# Debian's python3-kafka 2.0.2: JoinGroup v2 (no MEMBER_ID_REQUIRED), Fetch v4.
timeout 180 /usr/bin/python3 "$HERE/kafka_python_scenarios.py" "$ADDR" kp-deb || fail "python3-kafka (Debian) scenarios"

# --- sarama (Debian 1.22.1, GOPATH mode, no module download) -----------------
mkdir -p "$WORK/go"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$WORK/go/cache" GOFLAGS= \
    go build -o "$WORK/go/sarama-check" "$HERE/sarama/main.go" 2>"$WORK/go/build.log" \
    || { cat "$WORK/go/build.log"; fail "sarama build"; }
timeout 120 "$WORK/go/sarama-check" -brokers "$ADDR" -version default -topic sarama-default \
    || fail "sarama default version"
timeout 120 "$WORK/go/sarama-check" -brokers "$ADDR" -version 2.1.0 -topic sarama-210 -group sarama-group \
    || fail "sarama V2_1_0_0"

# --- confluent-kafka ---------------------------------------------------------
timeout 180 "$VENV/bin/python" "$HERE/confluent_scenarios.py" "$ADDR" || fail "confluent-kafka scenarios"

log "all Kafka conformance scenarios passed in $(( $(date +%s) - START ))s"
