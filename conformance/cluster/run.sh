#!/usr/bin/env bash
# Cluster conformance: three rokka processes ($ROKKA_BIN) on 127.0.0.1 form
# one broker group (broker-a, SYNC_MASTER, min.insync.replicas=2) with the
# Raft controller on all three (CLUSTER-INTERFACE). Under continuous load
# from real clients of both ecosystems:
#   - confluent-kafka (PyPI, pinned) idempotent acks=all producer over 4
#     partitions at KAFKA_RATE (500) records/s, bootstrap = all three nodes
#     (kproducer.py), and a probe sending one acks=all record at a time
#     (probe.py: failover times);
#   - rocketmq-client-rust sync sends from two tasks pausing 5 ms between
#     sends (namesrvAddr = the three NameServers), retrying failed sends as
#     an application does;
#   - a Kafka consumer group (auto-commit 1 s) and a RocketMQ push consumer
#     group (offsets persisted every 1 s);
# the master is SIGKILLed KILLS (10) times at random moments, once while it
# is also the Raft leader (if no kill falls on that naturally, the Raft
# leader is killed until the master holds it), and restarted on the same
# data directory: it must rejoin as a slave and catch up (log end offsets
# from /metrics reach the master's). At the end (analyze.py and
# crash/check.py): 0 acknowledged records lost, 0 duplicates from the
# idempotent producer, every acknowledged RocketMQ key present (client-retry
# duplicates counted apart), both groups resume from their commits, both
# ecosystems read both topics; failover time p50/max printed.
# Then partition.sh: the network-partition test (needs root; skips without).
# Loopback only, every wait bounded, every process stopped on exit.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
KILLS="${KILLS:-10}"
KT=cluster-k
RT=ClusterR
PT=cluster-probe
SUITE=cluster
# shellcheck source=suite.sh
. "$HERE/suite.sh"

cl_plan_loopback "$WORK"
cl_write_configs "defaultTopicQueueNums=4" "mapedFileSizeCommitLog=67108864"
for i in "${CL_NODES[@]}"; do cl_launch "$i"; done
for i in "${CL_NODES[@]}"; do cl_wait_ready "$i" || fail "node $i did not start"; done
cl_wait_stable 60 3 || {
    show_logs
    for i in "${CL_NODES[@]}"; do log "node $i /cluster: $(cl_json "$i")"; done
    fail "no master agreed by the three nodes with an in-sync set of 3 within 60 s"
}
log "cluster up: master $CL_MASTER, Raft leader $CL_LEADER, epoch $CL_EPOCH"
BOOT="$(cl_bootstrap)"
NS="$(cl_namesrv)"

# --- load -------------------------------------------------------------------
STOP="$WORK/stop"
start_client() {
    "$@" &
    CLIENTS+=($!)
}
start_client "$PY" "$HERE/kproducer.py" "$BOOT" "$KT" 4 "${KAFKA_RATE:-500}" "$STOP" \
    "$WORK/kafka-acks" "$WORK/kafka-fails" >"$WORK/kafka-producer.out" 2>&1
KPROD=$!
start_client "$PY" "$HERE/probe.py" "$BOOT" "$PT" "$STOP" "$WORK/probe" >"$WORK/probe.out" 2>&1
PROBE=$!
start_client "$RMQ" "$NS" cluster-load "$RT" "$STOP" 900 rk 2 5 >"$WORK/rmq-load" 2>&1
RLOAD=$!
WATCH="$KPROD $PROBE $RLOAD"

alive() {
    local p
    for p in $WATCH; do
        kill -0 "$p" 2>/dev/null || return 1
    done
}

for _ in $(seq 1 600); do
    [ "$(count "$WORK/probe")" -ge 20 ] && [ "$(count "$WORK/rmq-load" '^ACK')" -ge 20 ] &&
        [ "$(count "$WORK/kafka-acks")" -ge 200 ] && break
    alive || break
    sleep 0.1
done
[ "$(count "$WORK/probe")" -ge 20 ] && [ "$(count "$WORK/rmq-load" '^ACK')" -ge 20 ] || {
    tail -n 5 "$WORK/probe.out" "$WORK/rmq-load" "$WORK/kafka-producer.out" || true
    fail "the producers did not get 20 acknowledgements each within 60 s"
}
log "load running: $(wc -l <"$WORK/kafka-acks") kafka acks, $(grep -c '^ACK' "$WORK/rmq-load") rocketmq acks"
# The groups start once the topics exist (a RocketMQ push consumer only
# rebalances onto a new topic's queues every 20 s).
start_client "$PY" "$HERE/kconsumer.py" "$BOOT" "$KT" cluster-kg "$WORK/kc1" --stop "$STOP" \
    >"$WORK/kc1.out" 2>&1
KCONS=$!
start_client "$RMQ" "$NS" cluster-consume "$RT" cluster_rg "$STOP" 900 0 >"$WORK/rc1" 2>&1
RCONS=$!
WATCH="$WATCH $KCONS $RCONS"
for _ in $(seq 1 600); do
    [ -s "$WORK/kc1" ] && grep -q '^GOT' "$WORK/rc1" && break
    alive || break
    sleep 0.1
done
[ -s "$WORK/kc1" ] && grep -q '^GOT' "$WORK/rc1" || fail "the consumer groups got nothing within 60 s"

# --- kills --------------------------------------------------------------------
# rocketmq-client-rust 1.0.0 recovers from a dead broker slowly (FINDINGS,
# run 13): its transport refuses to dial an address for 30 s after 5 failed
# connections (a circuit breaker), and a request in flight on a connection
# the broker's death closed waits out its timeout (30 s for a push
# consumer's long poll). Kills closer together than that measure the
# client, not the cluster, so every kill waits (bounded) until the RocketMQ
# producer acknowledged a send after the previous kill.
acked_since() { awk -v t="$1" '$1 == "ACK" && $7 / 1000 > t { f = 1; exit } END { exit !f }' "$WORK/rmq-load"; }
wait_rmq_producer() {
    local i
    for i in $(seq 1 "$((${RMQ_RECOVERY_SECS:-50} * 10))"); do
        acked_since "$1" && return 0
        alive || return 1
        sleep 0.1
    done
    return 1
}
: >"$WORK/kills"
last_kill=0
master_kills=0
leader_kill_done=0
forced=0
while [ "$master_kills" -lt "$KILLS" ]; do
    sleep "$((1 + RANDOM % 3)).$((RANDOM % 10))"
    alive || fail "a client exited during the kills (see $WORK/*.out)"
    [ "$last_kill" = 0 ] || wait_rmq_producer "$last_kill" ||
        problem "the RocketMQ producer acknowledged nothing within ${RMQ_RECOVERY_SECS:-50} s of kill $master_kills"
    cl_wait_stable 60 3 || {
        show_logs
        fail "cluster not settled with 3 in sync before kill $((master_kills + 1))"
    }
    victim=$CL_MASTER
    kind=master
    if [ "$CL_LEADER" = "$CL_MASTER" ]; then
        kind=master+leader
    elif [ "$leader_kill_done" = 0 ] && [ "$master_kills" -ge $((KILLS / 2)) ] && [ "$forced" -lt 4 ]; then
        # Make the master the Raft leader: kill the leader until it is.
        victim=$CL_LEADER
        kind=leader
        forced=$((forced + 1))
    fi
    old_epoch=$CL_EPOCH
    # The kill's time is taken once the process is gone: a record sent a few
    # milliseconds before that could still be acknowledged by the old master
    # (run 13 measured a 0.00 s "failover" that way).
    cl_kill "$victim"
    t0=$(date +%s.%N)
    last_kill=$t0
    echo "$t0 $victim $kind" >>"$WORK/kills"
    if [ "$kind" != leader ]; then
        master_kills=$((master_kills + 1))
        [ "$kind" = master+leader ] && leader_kill_done=1
        cl_wait_stable 30 2 && [ "$CL_MASTER" != "$victim" ] || {
            show_logs
            for i in "${CL_NODES[@]}"; do log "node $i /cluster: $(cl_json "$i")"; done
            fail "kill $master_kills (node $victim, $kind): no new master with 2 in sync within 30 s"
        }
        t1=$(date +%s.%N)
        what="kill $master_kills: node $victim ($kind), master $CL_MASTER at epoch $CL_EPOCH (was $old_epoch)"
    else
        # The survivors report the dead leader until their lease runs out.
        for _ in $(seq 1 300); do
            cl_wait_stable 30 2 || {
                show_logs
                fail "Raft leader kill (node $victim): cluster not settled within 30 s"
            }
            [ "$CL_LEADER" != "$victim" ] && [ "$CL_LEADER" != - ] && break
            sleep 0.1
        done
        t1=$(date +%s.%N)
        what="Raft leader kill: node $victim (not the master), leader now $CL_LEADER, master $CL_MASTER"
    fi
    master=$CL_MASTER
    cl_start "$victim" || fail "node $victim did not restart"
    t2=$(date +%s.%N)
    cl_wait_stable 60 3 || {
        show_logs
        for i in "${CL_NODES[@]}"; do log "node $i /cluster: $(cl_json "$i")"; done
        fail "node $victim did not rejoin the in-sync set within 60 s"
    }
    rc=0
    cl_wait_caught_up "$victim" "$CL_MASTER" 60 "$KT" "$RT" "$PT" || rc=$?
    [ "$rc" = 1 ] && fail "node $victim did not catch up with node $CL_MASTER within 60 s"
    caught=$([ "$rc" = 2 ] && echo "master shows no partition metrics" || echo "caught up")
    t3=$(date +%s.%N)
    log "$what; view settled in $(secs "$t0" "$t1") s; restarted node $victim is a slave, in sync and $caught $(secs "$t2" "$t3") s after its restart"
    [ "$master" = "$CL_MASTER" ] || log "  (the master moved again to $CL_MASTER while node $victim rejoined)"
done
[ "$leader_kill_done" = 1 ] || log "NOTE: no kill fell on a master that was also the Raft leader (after $forced Raft-leader kills)"

# Both groups and producers show they went on by themselves after the last
# kill: each consumed or acknowledged something after it (bounded wait; the
# RocketMQ clients need their 10 s route poll, and the push consumer a long
# poll stuck on the killed master's closed connection times out after 30 s).
# Each group waits for deliveries on all four queues: a group stopped
# before it pulled a queue again may leave a commit made just before the kill
# (lost with the master) as the last word on that queue, and
# rocketmq-client-rust's shutdown persists only offsets that changed
# (FINDINGS, run 20).
for _ in $(seq 1 600); do
    acked_since "$last_kill" && [ "$(queues_since "$last_kill" "$WORK/rc1")" = 4 ] &&
        [ "$(queues_since "$last_kill" "$WORK/kc1")" = 4 ] && break
    alive || break
    sleep 0.1
done
log "after the last kill: RocketMQ producer $(acked_since "$last_kill" && echo went on || echo STALLED), RocketMQ group $(got_since "$last_kill" "$WORK/rc1" && echo went on || echo STALLED) on $(queues_since "$last_kill" "$WORK/rc1") of 4 queues, Kafka group $(got_since "$last_kill" "$WORK/kc1" && echo went on || echo STALLED) on $(queues_since "$last_kill" "$WORK/kc1") of 4 partitions ($(secs "$last_kill" "$(date +%s.%N)") s after it)"
stop_clients
for f in kafka-producer.out probe.out kc1.out; do
    { grep -h "^FATAL" "$WORK/$f" || true; } | cut -c1-400 | sed "s/^/    $f: /" | head -n 3
    tail -n 1 "$WORK/$f"
done
[ "$(count "$WORK/kafka-producer.out" '^FATAL')$(count "$WORK/probe.out" '^FATAL')" = 00 ] ||
    problem "idempotent producers hit fatal errors (replaced by new producers; lines above)"
grep -h "DONE" "$WORK/rmq-load" "$WORK/rc1" || true
[ -s "$WORK/kafka-fails" ] && {
    head -n 3 "$WORK/kafka-fails"
    problem "$(wc -l <"$WORK/kafka-fails") Kafka deliveries failed (not acknowledged)"
}
{ grep -h "offset reset" "$WORK/kc1.out" || true; } | cut -c1-300 | sed 's/^/    /' | head -n 3
[ "$(resets "$WORK/kc1.out")" = 0 ] ||
    problem "the Kafka consumer's fetch position was out of range on a new master (auto.offset.reset applied)"

# --- after the kills: resume, read everything, compare --------------------------
log "phase 2: both groups restarted; both topics read by both ecosystems"
"$PY" "$HERE/kconsumer.py" "$BOOT" "$KT" cluster-kg "$WORK/kc2" --idle 8 --max 90 >"$WORK/kc2.out" 2>&1 ||
    problem "kafka consumer phase 2: $(tail -n 2 "$WORK/kc2.out")"
"$RMQ" "$NS" cluster-consume "$RT" cluster_rg "$WORK/no-stop" 90 8 >"$WORK/rc2" 2>&1 ||
    problem "rocketmq consumer phase 2: $(tail -n 2 "$WORK/rc2")"
cl_wait_stable 30 3 || problem "cluster not settled with 3 in sync after the kills: $(cl_json 1)"
# Records stored in a topic: the sum of its partitions' log end offsets.
stored() { cl_ends "$CL_MASTER" | awk -v t="$1" '$1 == t { n += $3 } END { print n + 0 }'; }
"$RMQ" "$NS" cluster-dump "$KT" cluster_dump_k "$(stored "$KT")" 120 >"$WORK/dump-k" 2>&1 ||
    problem "rocketmq read of $KT: $(tail -n 1 "$WORK/dump-k")"
"$RMQ" "$NS" cluster-dump "$RT" cluster_dump_r "$(stored "$RT")" 120 >"$WORK/dump-r" 2>&1 ||
    problem "rocketmq read of $RT: $(tail -n 1 "$WORK/dump-r")"
"$PY" "$ROOT/conformance/crash/check.py" "$BOOT" "$KT" 4 "$WORK/kafka-acks" || problem "kafka data topic check"
"$PY" "$HERE/analyze.py" --bootstrap "$BOOT" --kills "$WORK/kills" \
    --probe-topic "$PT" --probe "$WORK/probe" --rmq-topic "$RT" --rmq-load "$WORK/rmq-load" \
    --kafka-acks "$WORK/kafka-acks" --kafka-consumer "$WORK/kc1" "$WORK/kc2" \
    --rmq-consumer "$WORK/rc1" "$WORK/rc2" \
    --rmq-dump-kafka-topic "$WORK/dump-k" --rmq-dump-rmq-topic "$WORK/dump-r" ||
    problem "analysis (lines above)"
cl_stop_all
log "kill phase done in $(($(date +%s) - START)) s"

PY="$PY" bash "$HERE/partition.sh" || problem "partition test (lines above)"
if [ ${#PROBLEMS[@]} -gt 0 ]; then
    for p in "${PROBLEMS[@]}"; do log "FAILED: $p"; done
    fail "${#PROBLEMS[@]} problems in $(($(date +%s) - START)) s"
fi
log "ok in $(($(date +%s) - START)) s"
