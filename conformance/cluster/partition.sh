#!/usr/bin/env bash
# Partition test (called by run.sh; runs alone too). Needs root: it makes
# three network namespaces, each with a veth into a bridge of its own
# (10.77.0.1-3, the host side 10.77.0.254), and skips with a message
# otherwise. Three rokka nodes (one per namespace, default ports) form
# broker-a (SYNC_MASTER, min.insync.replicas=2).
#   1. 1000 acks=all records (confluent-kafka) acknowledged.
#   2. The master is cut from the other two (blackhole routes both ways;
#      the host still reaches every node): acks=all records sent to it alone
#      must not be acknowledged; the other two elect a new master at a
#      higher epoch and acknowledge acks=all records from a client on their
#      side (the host's route to the isolated node cut meanwhile).
#   3. Heal: the old master rejoins as a slave, its log end offset equals the
#      new master's, and reading the partition gives every acknowledged
#      record at its offset and none of those sent to the isolated master
#      (its divergent tail was truncated).
# Every wait bounded; namespaces, links and processes removed on exit.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SUB=10.77.0
TOPIC=cluster-split
TAG="rkcl$$"
START=$(date +%s)

log() { printf '[cluster-partition] %s\n' "$*"; }
fail() {
    log "FAIL: $*"
    exit 1
}

if [ "$(id -u)" = 0 ] && ! command -v ip >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq iproute2 >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null && apt-get install -y -qq iproute2 >/dev/null; } || true
fi
if [ "$(id -u)" != 0 ] || ! ip netns add "${TAG}x" 2>/dev/null; then
    log "SKIP: needs root and network namespaces (ip netns); the process tests cover failover without a partition"
    exit 0
fi
ip netns del "${TAG}x"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
PY="${PY:-$ROOT/target/conformance-crash-venv/bin/python}"
"$PY" -c "import confluent_kafka" || fail "confluent-kafka missing: run conformance/cluster/run.sh"
# shellcheck source=nodes.sh
. "$HERE/nodes.sh"

WORK="$(mktemp -d)"
BR="${TAG}b"
HOST_CUT=""
cleanup() {
    cl_stop_all
    local i
    [ -z "$HOST_CUT" ] || ip route del blackhole "$HOST_CUT" 2>/dev/null || true
    for i in 1 2 3; do
        ip link del "${TAG}v$i" 2>/dev/null || true
        ip netns del "${TAG}n$i" 2>/dev/null || true
    done
    ip link del "$BR" 2>/dev/null || true
    if [ "${KEEP_WORK:-0}" = 1 ]; then log "work kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Left over from an interrupted run: our own links only.
for l in $(ip -o link show | sed -n 's/^[0-9]*: \(rkcl[0-9]*b\)[:@].*/\1/p'); do ip link del "$l" || true; done
for n in $(ip netns list | sed -n 's/^\(rkcl[0-9]*n[0-9]\).*/\1/p'); do ip netns del "$n" || true; done

ip link add "$BR" type bridge
ip addr add "$SUB.254/24" dev "$BR"
ip link set "$BR" up
for i in 1 2 3; do
    ns="${TAG}n$i"
    ip netns add "$ns"
    ip link add "${TAG}v$i" type veth peer name "${TAG}p$i"
    ip link set "${TAG}p$i" netns "$ns"
    ip link set "${TAG}v$i" master "$BR" up
    ip -n "$ns" addr add "$SUB.$i/24" dev "${TAG}p$i"
    ip -n "$ns" link set "${TAG}p$i" up
    ip -n "$ns" link set lo up
done

cl_plan_netns "$WORK" "$SUB.1" "$SUB.2" "$SUB.3"
for i in 1 2 3; do NS_OF[i]="${TAG}n$i"; done
cl_write_configs "defaultTopicQueueNums=1" "mapedFileSizeCommitLog=67108864"
for i in "${CL_NODES[@]}"; do cl_launch "$i"; done
for i in "${CL_NODES[@]}"; do cl_wait_ready "$i" || fail "node $i did not start"; done
cl_wait_stable 60 3 || {
    show_logs
    fail "no settled master with 3 in sync within 60 s"
}
M=$CL_MASTER
E0=$CL_EPOCH
BOOT="$(cl_bootstrap)"
log "three nodes in namespaces: master $M (epoch $E0), Raft leader $CL_LEADER"

# What each node thinks, and its own log lines (not the Raft library's) about
# replication, the in-sync set and failures, for a failure of the split.
explain() {
    local i
    for i in "${CL_NODES[@]}"; do
        log "node $i /cluster: $(cl_json "$i")"
        log "node $i, replication and warnings:"
        grep -v openraft "$(cl_log "$i")" | grep -E "WARN|ERROR|rokka::ha|in-sync|master election" |
            tail -n 20 | cut -c1-300 | sed 's/^/    /' || true
        curl -s -m 2 "http://${HOST[i]}:${HPORT[i]}/metrics" 2>/dev/null |
            grep -E '^rokka_(kafka_request_errors_total|ha_|cluster_(replica|role|fenced|unreplicated))' | grep -v ' 0$' |
            head -n 20 | sed 's/^/    /' || true
    done
}

# --- 1. before ------------------------------------------------------------------
"$PY" "$HERE/split.py" produce "$BOOT" "$TOPIC" before 1000 30 "$WORK/acks" | tee "$WORK/p1"
grep -q "acked=1000 " "$WORK/p1" || fail "acks=all records before the partition were not all acknowledged"
cl_wait_stable 30 3 || fail "not 3 in sync after the first records"

# --- 2. isolate the master ---------------------------------------------------------
OTHERS=()
for i in "${CL_NODES[@]}"; do [ "$i" = "$M" ] || OTHERS+=("$i"); done
route() {
    local j
    for j in "${OTHERS[@]}"; do
        ip -n "${TAG}n$M" route "$1" blackhole "$SUB.$j/32"
        ip -n "${TAG}n$j" route "$1" blackhole "$SUB.$M/32"
    done
}
route add
log "node $M isolated from nodes ${OTHERS[*]}"
"$PY" "$HERE/split.py" produce "${HOST[M]}:${KPORT[M]}" "$TOPIC" isolated 200 10 "$WORK/iso-acks" \
    >"$WORK/p-iso" 2>&1 &
ISO=$!
CL_ONLY="${OTHERS[*]}" cl_wait_stable 30 2 && [ "$CL_MASTER" != "$M" ] || {
    show_logs
    fail "the majority did not elect a new master within 30 s"
}
N=$CL_MASTER
log "majority: node $N is master at epoch $CL_EPOCH (was $E0)"
[ "$CL_EPOCH" -gt "$E0" ] || fail "epoch did not increase"
wait "$ISO" || true
log "sent to the isolated node $M: $(cat "$WORK/p-iso")"
grep -q "^acked=0 " "$WORK/p-iso" || fail "the isolated master acknowledged acks=all records"
log "isolated node's view: $(cl_json "$M")"
iso_end="$(cl_ends "$M" | awk -v t="$TOPIC" '$1 == t && $2 == 0 { print $3 }')"
maj_end="$(cl_ends "$N" | awk -v t="$TOPIC" '$1 == t && $2 == 0 { print $3 }')"
log "log end offsets of $TOPIC[0] while split: isolated node $M ${iso_end:-?}, new master $N ${maj_end:-?}"
# This client is on the majority's side: it cannot reach the isolated node
# either. (One that reaches both sides may take the isolated node's Metadata,
# which still names it leader at the old epoch, and retry there until its
# timeout: FINDINGS, run 23.)
HOST_CUT="$SUB.$M/32"
ip route add blackhole "$HOST_CUT"
"$PY" "$HERE/split.py" produce "${HOST[N]}:${KPORT[N]}" "$TOPIC" majority 500 30 "$WORK/acks" | tee "$WORK/p2"
ip route del blackhole "$HOST_CUT"
HOST_CUT=""
grep -q "acked=500 " "$WORK/p2" || {
    explain
    fail "the majority did not acknowledge acks=all records"
}

# --- 3. heal -------------------------------------------------------------------
route del
t0=$(date +%s)
log "healed"
cl_wait_stable 60 3 || {
    show_logs
    for i in "${CL_NODES[@]}"; do log "node $i /cluster: $(cl_json "$i")"; done
    fail "node $M did not rejoin the in-sync set within 60 s of the heal"
}
[ "$CL_MASTER" != "$M" ] || log "NOTE: node $M is master again at epoch $CL_EPOCH"
rc=0
cl_wait_caught_up "$M" "$CL_MASTER" 60 "$TOPIC" || rc=$?
[ "$rc" = 1 ] && fail "node $M did not catch up with node $CL_MASTER"
a="$(cl_ends "$M" | awk -v t="$TOPIC" '$1 == t { print $2, $3 }')"
b="$(cl_ends "$CL_MASTER" | awk -v t="$TOPIC" '$1 == t { print $2, $3 }')"
log "after the heal ($(($(date +%s) - t0)) s): node $M ends [$a], master $CL_MASTER ends [$b]"
[ "$a" = "$b" ] || fail "node $M's log end differs from the master's"
grep -ih "truncat" "$(cl_log "$M")" | tail -n 3 | sed 's/^/    /' || true
"$PY" "$HERE/split.py" check "$BOOT" "$TOPIC" "$WORK/acks" isolated || fail "content after the heal"
log "ok in $(($(date +%s) - START)) s"
