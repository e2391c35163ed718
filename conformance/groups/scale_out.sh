# Sourced by conformance/groups/run.sh after its kill phases: scaling a
# topic out onto another broker group, RocketMQ's way (ADR 024 part 2), with
# the same real clients.
#   - `rokka admin cluster add-queues` gives broker-a's Kafka topic groups-ka
#     and RocketMQ topic GroupsRA 2 more queues on broker-b;
#   - Kafka (scale_out.py spread): Metadata shows 6 partitions, 4 led by
#     broker-a's master and 2 by broker-b's; an idempotent acks=all producer
#     writes to all 6, a new group reads every record once at its partition
#     and commits all 6 through its coordinator;
#   - RocketMQ: a new rocketmq-client-rust producer's sync sends land on both
#     groups (the brokerName of each SEND_OK), and a new push consumer group
#     reads every acknowledged key back;
#   - `rokka admin cluster drain`: broker-b's range of groups-ka refuses Kafka
#     writes with POLICY_VIOLATION while broker-a's partitions take them; with
#     broker-a's range of GroupsRA drained, a new RocketMQ producer sends to
#     broker-b only.
# Needs: HOST/HPORT, MASTER, BOOT, NS, PY, RMQ, WORK, ROKKA_BIN, kt, rt, log,
# problem, fail (run.sh).

radmin() { "$ROKKA_BIN" admin --http "${HOST[1]}:${HPORT[1]}" "$@"; }

# rmq_load NAME SECS: a new producer's sync sends to GroupsRA for SECS seconds.
rmq_load() {
    "$RMQ" "$NS" cluster-load "$(rt a)" "$WORK/no-stop" "$2" "$1" 2 20 >"$WORK/$1" 2>&1 ||
        problem "RocketMQ load $1 failed: $(tail -n 1 "$WORK/$1")"
}
acks_on() { awk -v b="$2" '$1 == "ACK" && $8 == b' "$WORK/$1" | wc -l; }

log "phase 3: add-queues onto broker-b (Kafka $(kt a), RocketMQ $(rt a)), then drain"
for t in "$(kt a)" "$(rt a)"; do
    radmin cluster add-queues "$t" broker-b 2 >"$WORK/add-queues-$t" 2>&1 ||
        fail "add-queues $t: $(cat "$WORK/add-queues-$t")"
done
leaders="$(printf '%s,' "${MASTER[a]}" "${MASTER[a]}" "${MASTER[a]}" "${MASTER[a]}" "${MASTER[b]}" "${MASTER[b]}")"
"$PY" "$HERE/scale_out.py" spread "$BOOT" "$(kt a)" 6 "${leaders%,}" 300 | sed "s/^/    /" ||
    problem "Kafka on $(kt a) spread over both groups"

rmq_load rmq-spread 8
on_a=$(acks_on rmq-spread broker-a)
on_b=$(acks_on rmq-spread broker-b)
log "RocketMQ sends to $(rt a) after add-queues: $on_a on broker-a, $on_b on broker-b"
[ "$on_a" -gt 0 ] && [ "$on_b" -gt 0 ] || problem "RocketMQ sends did not reach both groups"
"$RMQ" "$NS" cluster-dump "$(rt a)" groups-spread-dump "$((on_a + on_b))" 60 >"$WORK/rmq-spread-dump" 2>&1 ||
    problem "RocketMQ dump of $(rt a) failed: $(tail -n 1 "$WORK/rmq-spread-dump")"
missing=$(awk 'NR == FNR { if ($1 == "GOT") got[$5] = 1; next } $1 == "ACK" && !($2 in got)' \
    "$WORK/rmq-spread-dump" "$WORK/rmq-spread" | wc -l)
log "RocketMQ consumer of $(rt a) over both groups: $missing acknowledged keys missing"
[ "$missing" = 0 ] || problem "$missing acknowledged RocketMQ keys of $(rt a) not read back"

radmin cluster drain "$(kt a)" broker-b >/dev/null 2>&1 || fail "drain $(kt a) on broker-b"
radmin cluster drain "$(rt a)" broker-a >/dev/null 2>&1 || fail "drain $(rt a) on broker-a"
"$PY" "$HERE/scale_out.py" drained "$BOOT" "$(kt a)" 4 0 | sed "s/^/    /" ||
    problem "Kafka produce to the drained range of $(kt a)"
rmq_load rmq-drained 5
on_a=$(acks_on rmq-drained broker-a)
on_b=$(acks_on rmq-drained broker-b)
log "RocketMQ sends to $(rt a) with broker-a drained: $on_a on broker-a, $on_b on broker-b"
[ "$on_a" = 0 ] && [ "$on_b" -gt 0 ] || problem "RocketMQ sends went to a drained group (or nowhere)"
