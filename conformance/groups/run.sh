#!/usr/bin/env bash
# Two broker groups in one cluster (ADR 024 part 1) under master kills: four
# rokka processes ($ROKKA_BIN) on 127.0.0.1, group broker-a = nodes {1,2},
# broker-b = nodes {3,4}, one Raft quorum with voters 1, 2, 3 (node 4 a
# learner on rokka.clusterListen), SYNC_MASTER, min.insync.replicas=2.
# Per group (X = a, b), created through that group's master only (Kafka
# CreateTopics), so placed on it: a Kafka data topic groups-kX (4
# partitions), a probe topic groups-pX and a RocketMQ topic GroupsRX;
# Metadata must name the two groups' masters as their leaders. Under load:
#   - confluent-kafka idempotent acks=all producers on groups-ka and
#     groups-kb at KAFKA_RATE (200) records/s each, bootstrap = all four
#     nodes (conformance/cluster/kproducer.py), and a probe per group
#     (probe.py: failover times);
#   - rocketmq-client-rust sync sends to GroupsRA and GroupsRB (one task
#     each, 5 ms pause, retrying failed sends as an application does);
#   - a Kafka consumer group per data topic (auto-commit 1 s), their ids
#     chosen so that FindCoordinator names the *other* group's master (the
#     commits of a topic on broker-a live on broker-b's master and the other
#     way round); the coordinators are logged at the start and after every
#     kill;
# the master of broker-a and of broker-b are SIGKILLed alternately, KILLS
# (6) times in all, each restarted on its data dir: it must rejoin its group
# as a slave and catch up. At the end (crash/check.py per data topic,
# cluster/analyze.py per group): 0 acknowledged Kafka records lost, 0
# duplicates, every acknowledged RocketMQ key present, both consumer groups
# resume from their commits, failover time p50/max per group and ecosystem.
# Then scale_out.sh: add-queues and drain (ADR 024 part 2) under the same
# clients.
# Loopback only, every wait bounded, every process stopped on exit.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CLUSTER="$ROOT/conformance/cluster"
KILLS="${KILLS:-6}"
CL_NODES=(1 2 3 4)
CL_VOTERS="1 2 3"
SUITE=groups
# shellcheck source=../cluster/suite.sh
. "$CLUSTER/suite.sh"
CL_GROUP=([1]=broker-a [2]=broker-a [3]=broker-b [4]=broker-b)
declare -A MEMBERS=([a]="1 2" [b]="3 4") MASTER CG
GROUP_IDS=(a b)
kt() { echo "groups-k$1"; }
pt() { echo "groups-p$1"; }
rt() { echo "GroupsR${1^^}"; }

# group_wait X SECS ISR: group X's live nodes agree on a master with an
# in-sync set of at least ISR; sets MASTER[X] (and CL_MASTER, CL_LEADER...).
group_wait() {
    CL_ONLY="${MEMBERS[$1]}" CL_GROUP_NAME="broker-$1" cl_wait_stable "$2" "$3" || return 1
    MASTER[$1]=$CL_MASTER
}
both_wait() {
    local g
    for g in "${GROUP_IDS[@]}"; do
        group_wait "$g" "$1" 2 || {
            fail_views "$2: group broker-$g has no master with 2 in sync within $1 s"
        }
    done
}
kaddr() { echo "${HOST[$1]}:${KPORT[$1]}"; }
kadmin() { "$PY" "$HERE/kadmin.py" "$@"; }
# Prints "group node" for both consumer groups, FindCoordinator asked to a
# live node.
coordinators() {
    local i
    for i in "${CL_NODES[@]}"; do
        [ -n "${PID[i]}" ] && kadmin coordinator "$(kaddr "$i")" "${CG[a]}" "${CG[b]}" 2>/dev/null && return 0
    done
}

cl_plan_loopback "$WORK"
cl_write_configs "defaultTopicQueueNums=4" "mapedFileSizeCommitLog=67108864"
for i in "${CL_NODES[@]}"; do cl_launch "$i"; done
for i in "${CL_NODES[@]}"; do cl_wait_ready "$i" || fail "node $i did not start"; done
both_wait 60 "start"
log "cluster up: broker-a master ${MASTER[a]}, broker-b master ${MASTER[b]}, Raft leader $CL_LEADER"
BOOT="$(cl_bootstrap)"
NS="$(cl_namesrv)"

# --- topics, one set per group, and where the clients find them ---------------
for g in "${GROUP_IDS[@]}"; do
    m=${MASTER[$g]}
    kadmin create "$(kaddr "$m")" 4 "$(kt "$g")" "$(rt "$g")" >/dev/null || fail "create topics on broker-$g"
    kadmin create "$(kaddr "$m")" 1 "$(pt "$g")" >/dev/null || fail "create the probe topic on broker-$g"
done
for g in "${GROUP_IDS[@]}"; do
    for t in "$(kt "$g")" "$(rt "$g")" "$(pt "$g")"; do
        got="$(kadmin leaders "$BOOT" "$t")" || fail "Metadata of $t"
        [ "$got" = "$t ${MASTER[$g]}" ] ||
            fail "Metadata of $t: leaders '${got#"$t "}', want broker-$g's master ${MASTER[$g]} only"
    done
done
log "Metadata: topics of broker-a led by node ${MASTER[a]}, of broker-b by node ${MASTER[b]}"
# Consumer group ids: the first group-kX-N whose coordinator is the master
# of the other group (coordinators wait for __consumer_offsets' placement).
other() { [ "$1" = a ] && echo b || echo a; }
for g in "${GROUP_IDS[@]}"; do
    want=${MASTER[$(other "$g")]}
    for _ in $(seq 1 30); do
        CG[$g]="$(kadmin coordinator "$(kaddr 1)" $(seq -f "groups-k$g-%g" 0 29) |
            awk -v w="$want" '$2 == w { print $1; exit }')"
        [ -n "${CG[$g]}" ] && break
        sleep 1
    done
    [ -n "${CG[$g]}" ] || fail "no group id of 30 coordinated by node $want within 30 s"
done
: >"$WORK/coords"
note_coordinators() {
    local c
    c="$(coordinators | tr '\n' ' ')"
    echo "$1 $c" >>"$WORK/coords"
    log "coordinators ($1): $c(masters: a=${MASTER[a]}, b=${MASTER[b]})"
}
note_coordinators start

# --- load -------------------------------------------------------------------
STOP="$WORK/stop"
start_client() {
    "$@" &
    CLIENTS+=($!)
    WATCH+=" $!"
}
WATCH=""
for g in "${GROUP_IDS[@]}"; do
    start_client "$PY" "$CLUSTER/kproducer.py" "$BOOT" "$(kt "$g")" 4 "${KAFKA_RATE:-200}" "$STOP" \
        "$WORK/kafka-acks-$g" "$WORK/kafka-fails-$g" >"$WORK/kafka-producer-$g.out" 2>&1
    start_client "$PY" "$CLUSTER/probe.py" "$BOOT" "$(pt "$g")" "$STOP" "$WORK/probe-$g" >"$WORK/probe-$g.out" 2>&1
    start_client "$RMQ" "$NS" cluster-load "$(rt "$g")" "$STOP" 900 "r$g" 1 5 >"$WORK/rmq-load-$g" 2>&1
done
alive() {
    local p
    for p in $WATCH; do
        kill -0 "$p" 2>/dev/null || return 1
    done
}
loaded() {
    local g
    for g in "${GROUP_IDS[@]}"; do
        [ "$(count "$WORK/probe-$g")" -ge 20 ] && [ "$(count "$WORK/rmq-load-$g" '^ACK')" -ge 20 ] &&
            [ "$(count "$WORK/kafka-acks-$g")" -ge 200 ] || return 1
    done
}
for _ in $(seq 1 600); do
    loaded && break
    alive || break
    sleep 0.1
done
loaded || {
    tail -n 5 "$WORK"/probe-?.out "$WORK"/rmq-load-? "$WORK"/kafka-producer-?.out || true
    fail "the producers did not get 20 acknowledgements each (200 for Kafka) within 60 s"
}
for g in "${GROUP_IDS[@]}"; do
    start_client "$PY" "$CLUSTER/kconsumer.py" "$BOOT" "$(kt "$g")" "${CG[$g]}" "$WORK/kc1-$g" --stop "$STOP" \
        >"$WORK/kc1-$g.out" 2>&1
done
for _ in $(seq 1 600); do
    [ -s "$WORK/kc1-a" ] && [ -s "$WORK/kc1-b" ] && break
    alive || break
    sleep 0.1
done
[ -s "$WORK/kc1-a" ] && [ -s "$WORK/kc1-b" ] || fail "the Kafka consumer groups got nothing within 60 s"
log "load running: $(cat "$WORK"/kafka-acks-? | wc -l) kafka acks, $(cat "$WORK"/rmq-load-? | grep -c '^ACK') rocketmq acks"

# --- kills, alternately on each group's master --------------------------------
# rocketmq-client-rust refuses an address for 30 s after 5 failed
# connections (cluster/FINDINGS.md, run 13): a group's master is killed only
# once its RocketMQ producer acknowledged a send after that group's last kill.
acked_since() { awk -v t="$1" '$1 == "ACK" && $7 / 1000 > t { f = 1; exit } END { exit !f }' "$2"; }
wait_rmq_producer() {
    local _
    for _ in $(seq 1 "$((${RMQ_RECOVERY_SECS:-50} * 10))"); do
        acked_since "$1" "$2" && return 0
        alive || return 1
        sleep 0.1
    done
    return 1
}
: >"$WORK/kills"
declare -A LAST_KILL=([a]=0 [b]=0)
for k in $(seq 1 "$KILLS"); do
    g=${GROUP_IDS[$(((k - 1) % 2))]}
    sleep "$((1 + RANDOM % 2)).$((RANDOM % 10))"
    alive || fail "a client exited during the kills (see $WORK/*.out)"
    [ "${LAST_KILL[$g]}" = 0 ] || wait_rmq_producer "${LAST_KILL[$g]}" "$WORK/rmq-load-$g" ||
        problem "the RocketMQ producer of broker-$g acknowledged nothing within ${RMQ_RECOVERY_SECS:-50} s of its last kill"
    both_wait 60 "before kill $k"
    group_wait "$g" 5 2 || fail "group broker-$g unsettled"
    victim=${MASTER[$g]}
    kind=master
    [ "$CL_LEADER" = "$victim" ] && kind=master+leader
    survivor=$(echo "${MEMBERS[$g]}" | tr ' ' '\n' | grep -vx "$victim")
    old_epoch=$CL_EPOCH
    cl_kill "$victim"
    t0=$(date +%s.%N)
    LAST_KILL[$g]=$t0
    echo "$t0 $victim $kind" >>"$WORK/kills"
    CL_ONLY=$survivor CL_GROUP_NAME="broker-$g" cl_wait_stable 30 1 && [ "$CL_MASTER" = "$survivor" ] || {
        fail_views "kill $k (node $victim, broker-$g $kind): node $survivor not master within 30 s"
    }
    t1=$(date +%s.%N)
    cl_start "$victim" || fail "node $victim did not restart"
    t2=$(date +%s.%N)
    group_wait "$g" 60 2 || {
        fail_views "node $victim did not rejoin broker-$g's in-sync set within 60 s"
    }
    rc=0
    cl_wait_caught_up "$victim" "${MASTER[$g]}" 60 "$(kt "$g")" "$(rt "$g")" "$(pt "$g")" || rc=$?
    [ "$rc" = 1 ] && fail "node $victim did not catch up with node ${MASTER[$g]} within 60 s"
    caught=$([ "$rc" = 2 ] && echo "master shows no partition metrics" || echo "caught up")
    t3=$(date +%s.%N)
    log "kill $k: node $victim (broker-$g $kind), master ${MASTER[$g]} at epoch $CL_EPOCH (was $old_epoch);" \
        "view settled in $(secs "$t0" "$t1") s; restarted node $victim is a slave, in sync and $caught" \
        "$(secs "$t2" "$t3") s after its restart"
    group_wait "$(other "$g")" 5 2 || true
    note_coordinators "after-kill-$k"
done

# Every producer and group went on by itself after the last kills.
went_on() {
    local g
    for g in "${GROUP_IDS[@]}"; do
        acked_since "${LAST_KILL[$g]}" "$WORK/rmq-load-$g" &&
            got_since "${LAST_KILL[a]}" "$WORK/kc1-$g" && got_since "${LAST_KILL[b]}" "$WORK/kc1-$g" || return 1
    done
}
for _ in $(seq 1 600); do
    went_on && break
    alive || break
    sleep 0.1
done
went_on || problem "a RocketMQ producer or Kafka group did not go on after the last kills: see $WORK"
stop_clients
for f in "$WORK"/kafka-producer-?.out "$WORK"/probe-?.out "$WORK"/kc1-?.out; do
    { grep -h "^FATAL" "$f" || true; } | cut -c1-400 | sed "s/^/    ${f##*/}: /" | head -n 3
    tail -n 1 "$f"
    [ "$(count "$f" '^FATAL')" = 0 ] || problem "${f##*/}: idempotent producer fatal errors (lines above)"
    [ "$(resets "$f")" = 0 ] || problem "${f##*/}: fetch position out of range (auto.offset.reset applied)"
done
grep -h "DONE" "$WORK"/rmq-load-? || true
for g in "${GROUP_IDS[@]}"; do
    [ -s "$WORK/kafka-fails-$g" ] && {
        head -n 3 "$WORK/kafka-fails-$g"
        problem "$(wc -l <"$WORK/kafka-fails-$g") Kafka deliveries on $(kt "$g") failed (not acknowledged)"
    }
done

# --- after the kills: the groups resume from their commits; compare -----------
log "phase 2: both consumer groups restarted"
for g in "${GROUP_IDS[@]}"; do
    "$PY" "$CLUSTER/kconsumer.py" "$BOOT" "$(kt "$g")" "${CG[$g]}" "$WORK/kc2-$g" --idle 8 --max 90 \
        >"$WORK/kc2-$g.out" 2>&1 &
    CLIENTS+=($!)
done
for p in "${CLIENTS[@]}"; do wait "$p" || problem "a phase 2 consumer failed: $(tail -qn 1 "$WORK"/kc2-?.out)"; done
CLIENTS=()
both_wait 30 "after the kills"
note_coordinators end
for g in "${GROUP_IDS[@]}"; do
    log "broker-$g (nodes ${MEMBERS[$g]}, master ${MASTER[$g]}, consumer group ${CG[$g]}):"
    "$PY" "$ROOT/conformance/crash/check.py" "$BOOT" "$(kt "$g")" 4 "$WORK/kafka-acks-$g" | tail -n 3 ||
        problem "kafka data topic check of $(kt "$g")"
    "$PY" "$CLUSTER/analyze.py" --bootstrap "$BOOT" --kills "$WORK/kills" \
        --failover-nodes "${MEMBERS[$g]// /,}" --probe-topic "$(pt "$g")" --probe "$WORK/probe-$g" \
        --rmq-topic "$(rt "$g")" --rmq-load "$WORK/rmq-load-$g" \
        --kafka-acks "$WORK/kafka-acks-$g" --kafka-consumer "$WORK/kc1-$g" "$WORK/kc2-$g" \
        >"$WORK/analyze-$g" 2>&1 || problem "analysis of broker-$g (lines above)"
    sed "s/^/    /" "$WORK/analyze-$g"
    grep "^FAILOVER" "$WORK/analyze-$g" | sed "s/^/broker-$g /" >>"$WORK/failover"
done
# shellcheck source=scale_out.sh
. "$HERE/scale_out.sh"
cl_stop_all
summary="$KILLS kills; $(cat "$WORK"/kafka-acks-? | wc -l) kafka acks, $(cat "$WORK"/rmq-load-? | grep -c '^ACK') rocketmq acks"
log "$summary; failover:"
sed 's/^/    /' "$WORK/failover" 2>/dev/null || true
if [ ${#PROBLEMS[@]} -gt 0 ]; then
    for p in "${PROBLEMS[@]}"; do log "FAILED: $p"; done
    fail "${#PROBLEMS[@]} problems in $(($(date +%s) - START)) s"
fi
log "ok in $(($(date +%s) - START)) s"
