#!/usr/bin/env bash
# Burrow (Debian `burrow` 1.2.1) watching consumer lag of both ecosystems
# through rokka's `__consumer_offsets` (ADR 011), with the ZooKeeper it needs
# (Debian `zookeeper`) started here on loopback in a temp dir:
#   - Burrow shows a Kafka group (confluent-kafka commits) with its exact lag,
#     and the lag follows further commits;
#   - Burrow shows a RocketMQ group (crates.io rocketmq-client-rust 1.0.0,
#     conformance/rocketmq/client `lag` mode) with its exact lag;
#   - a deleted group disappears from Burrow while a committing one stays
#     (when DeleteGroups is available; Burrow 1.2.1 ignores tombstones and
#     drops a group once it has no commit for `expire-group` seconds);
#   - a decoder written from Kafka's schemas (offsets.py) reads every record
#     of `__consumer_offsets` from offset 0 and agrees with OffsetFetch for
#     every group, before and after a SIGKILL of rokka, and every commit
#     acknowledged before the SIGKILL survives it;
#   - produce into the internal topic, deleting it, creating illegal names
#     and auto-creating a `__` name each get Kafka's error; nothing changes.
# Installs what it needs, binds 127.0.0.1 only, bounds every wait, prints
# PASS/FAIL lines and exits non-zero on failure. KEEP_WORK=1 keeps the work
# dir (rokka, Burrow and ZooKeeper logs).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
[ -x "$ROKKA_BIN" ] || { echo "ROKKA_BIN=$ROKKA_BIN is not executable" >&2; exit 1; }
CONFLUENT_KAFKA_VERSION=2.16.1
KAFKA_PYTHON_VERSION=3.0.12
# Burrow drops a group without a commit for this long (s).
EXPIRE_GROUP=40

log() { printf '[burrow] %s\n' "$*"; }
fail() { log "FAIL: $*"; exit 1; }

# --- tools ---------------------------------------------------------------------
if ! command -v Burrow >/dev/null || [ ! -f /usr/share/java/zookeeper.jar ] || ! command -v curl >/dev/null; then
    [ "$(id -u)" = 0 ] || fail "burrow, zookeeper and curl are missing and this is not root"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq burrow zookeeper curl >/dev/null
fi
VENV="$ROOT/target/conformance-burrow-venv"
if ! "$VENV/bin/python" -c "import confluent_kafka, kafka, sys; sys.exit(confluent_kafka.version() != '$CONFLUENT_KAFKA_VERSION' or kafka.__version__ != '$KAFKA_PYTHON_VERSION')" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
        "confluent-kafka==$CONFLUENT_KAFKA_VERSION" "kafka-python==$KAFKA_PYTHON_VERSION"
fi
PY="$VENV/bin/python"
OFFSETS_PY="$HERE/offsets.py"
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
log "building the RocketMQ client (first build takes several minutes)"
rocketmq_client_build
CLIENT="$ROCKETMQ_CLIENT"

# --- processes -----------------------------------------------------------------
WORK="$(mktemp -d)"
ZK_PID="" BURROW_PID=""
cleanup() {
    [ -n "$BURROW_PID" ] && kill "$BURROW_PID" 2>/dev/null || true
    [ -n "$ZK_PID" ] && kill "$ZK_PID" 2>/dev/null || true
    rokka_stop
    if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; else log "work dir kept: $WORK"; fi
}
trap cleanup EXIT
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # host port seconds
    local _
    for _ in $(seq 1 "$(( $3 * 5 ))"); do
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

ZK_PORT="$(free_port)"
mkdir -p "$WORK/zk/data"
cat >"$WORK/zk/zoo.cfg" <<EOF
tickTime=2000
dataDir=$WORK/zk/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
EOF
java -cp "$WORK/zk:/usr/share/java/zookeeper.jar" org.apache.zookeeper.server.quorum.QuorumPeerMain \
    "$WORK/zk/zoo.cfg" >"$WORK/zk/zk.log" 2>&1 &
ZK_PID=$!
wait_port 127.0.0.1 "$ZK_PORT" 30 || { cat "$WORK/zk/zk.log"; fail "ZooKeeper did not listen on $ZK_PORT"; }
log "ZooKeeper pid $ZK_PID on 127.0.0.1:$ZK_PORT"

rokka_start "$WORK" || fail "rokka did not start"
KAFKA="$ROKKA_KAFKA"
log "rokka pid $ROKKA_PID: kafka $KAFKA, namesrv $ROKKA_NAMESRV"

# --- protection (before any group exists) --------------------------------------
timeout 120 "$PY" "$OFFSETS_PY" protect "$KAFKA" || fail "protection checks"

# --- Burrow --------------------------------------------------------------------
HTTP_PORT="$(free_port)"
mkdir -p "$WORK/burrow"
cat >"$WORK/burrow/burrow.toml" <<EOF
[general]
pidfile="$WORK/burrow/burrow.pid"
[logging]
filename="$WORK/burrow/burrow.log"
level="debug"
[zookeeper]
servers=["127.0.0.1:$ZK_PORT"]
timeout=6
root-path="/burrow"
[client-profile.rokka]
client-id="burrow-rokka"
kafka-version="2.0.0"
[cluster.rokka]
class-name="kafka"
servers=["$KAFKA"]
client-profile="rokka"
topic-refresh=2
offset-refresh=2
[consumer.rokka]
class-name="kafka"
cluster="rokka"
servers=["$KAFKA"]
client-profile="rokka"
start-latest=false
[httpserver.default]
address="127.0.0.1:$HTTP_PORT"
[storage.default]
class-name="inmemory"
workers=4
intervals=10
expire-group=$EXPIRE_GROUP
min-distance=1
EOF
# Topics first, so that Burrow knows them before the commits arrive (it
# drops commits for topics its cluster module has not seen yet).
"$PY" "$OFFSETS_PY" create-topic "$KAFKA" burrow-kafka-t 1 || fail "create burrow-kafka-t"
"$PY" "$OFFSETS_PY" create-topic "$KAFKA" BurrowRmqTopic 4 || fail "create BurrowRmqTopic"
"$PY" "$OFFSETS_PY" create-topic "$KAFKA" burrow-gone-t 1 || fail "create burrow-gone-t"
Burrow -config-dir "$WORK/burrow" >"$WORK/burrow/stdout.log" 2>&1 &
BURROW_PID=$!
BURROW="http://127.0.0.1:$HTTP_PORT/v3/kafka/rokka"
wait_port 127.0.0.1 "$HTTP_PORT" 30 || { cat "$WORK/burrow/stdout.log" "$WORK/burrow/burrow.log" 2>/dev/null | tail -30; fail "Burrow did not start"; }
log "Burrow pid $BURROW_PID on 127.0.0.1:$HTTP_PORT"

status=0
run() { timeout 200 "$PY" "$OFFSETS_PY" "$@" || status=1; }

# Kafka group: 1,000 records on one partition, commit 500 -> lag 500.
run produce "$KAFKA" burrow-kafka-t 0 1000
run burrow-topic "$BURROW" burrow-kafka-t 60
sleep 3  # one offset-refresh, so Burrow has the high-water mark 1000
"$PY" "$OFFSETS_PY" commit "$KAFKA" burrow-kafka burrow-kafka-t 0 500 || status=1
run burrow-lag "$BURROW" burrow-kafka 500 60
# The lag follows further commits.
"$PY" "$OFFSETS_PY" commit "$KAFKA" burrow-kafka burrow-kafka-t 0 800 || status=1
run burrow-lag "$BURROW" burrow-kafka 200 60
[ "$status" = 0 ] || { tail -20 "$WORK/burrow/burrow.log"; fail "Kafka group in Burrow"; }

# RocketMQ group: 300 messages to queue 0, the group commits 120 -> lag 180.
run burrow-topic "$BURROW" BurrowRmqTopic 60
timeout 240 "$CLIENT" "$ROKKA_NAMESRV" lag BurrowRmqTopic burrow-rmq 300 120 >"$WORK/rmq-lag.log" 2>&1 \
    || { tail -20 "$WORK/rmq-lag.log"; fail "RocketMQ lag scenario"; }
grep -q "LAG OK" "$WORK/rmq-lag.log" || fail "RocketMQ lag scenario did not report LAG OK"
run burrow-lag "$BURROW" burrow-rmq 180 60
[ "$status" = 0 ] || { tail -20 "$WORK/burrow/burrow.log"; fail "RocketMQ group in Burrow"; }

# The topic agrees with OffsetFetch for every group.
run agree "$KAFKA" "before SIGKILL"
[ "$status" = 0 ] || fail "decoder before SIGKILL"

# A deleted group disappears from Burrow; a committing group stays.
"$PY" "$OFFSETS_PY" produce "$KAFKA" burrow-gone-t 0 10 || status=1
"$PY" "$OFFSETS_PY" commit "$KAFKA" burrow-gone burrow-gone-t 0 5 || status=1
run burrow-lag "$BURROW" burrow-gone 5 60
del=0
timeout 60 "$PY" "$OFFSETS_PY" delete-group "$KAFKA" burrow-gone || del=$?
if [ "$del" = 3 ]; then
    log "SKIP deleted-group check: this rokka does not offer DeleteGroups (API 42) yet"
elif [ "$del" != 0 ]; then
    fail "DeleteGroups burrow-gone"
else
    # Keep burrow-kafka committing while Burrow expires the deleted group.
    ( for i in $(seq 1 $(( EXPIRE_GROUP / 4 + 10 ))); do
        "$PY" "$OFFSETS_PY" commit "$KAFKA" burrow-kafka burrow-kafka-t 0 $(( 800 + i )) || exit 1
        sleep 4
      done ) &
    KEEPER=$!
    run burrow-gone "$BURROW" burrow-gone burrow-kafka $(( EXPIRE_GROUP + 40 ))
    kill "$KEEPER" 2>/dev/null || true
    wait "$KEEPER" 2>/dev/null || true
    run agree "$KAFKA" "after DeleteGroups"
    [ "$status" = 0 ] || fail "deleted group"
fi

# --- crash ---------------------------------------------------------------------
run crash-load "$KAFKA" "$WORK/acked.json"
kill -9 "$ROKKA_PID"
wait "$ROKKA_PID" 2>/dev/null || true
ROKKA_PID=""
log "rokka killed with SIGKILL; restarting on the same data"
rokka_start "$WORK" || fail "rokka did not restart"
KAFKA="$ROKKA_KAFKA"
grep "offsets topic reconciled" "$WORK/rokka.log" | tail -1 || true
run verify-acked "$KAFKA" "$WORK/acked.json"
run agree "$KAFKA" "after SIGKILL"
[ "$status" = 0 ] || fail "crash recovery"
log "all Burrow and __consumer_offsets checks passed"
