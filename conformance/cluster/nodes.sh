# Sourced by conformance/cluster/run.sh, partition.sh and bench.sh: a
# three-node rokka cluster on one machine (CLUSTER-INTERFACE: one broker
# group broker-a, controller.quorum.voters turns cluster mode on).
# conformance/groups/run.sh sets, before cl_write_configs, CL_GROUP[i] (node
# i's brokerName, default broker-a) and CL_VOTERS ("1 2 3": the Raft voters,
# default every node; the others are learners listening on
# rokka.clusterListen), and CL_GROUP_NAME (default broker-a) for the group
# cl_wait_stable looks at.
#
#   cl_plan_loopback DIR        nodes CL_NODES (default 1 2 3) on 127.0.0.1,
#                               every port free and fixed
#   cl_plan_netns DIR HOST...   node i at HOST i (inside a network namespace
#                               NS_OF[i] the caller made), default ports
#   cl_write_configs [KEY=VALUE...]   node-i.properties with the extra keys
#   cl_launch I       starts node I on its data dir (a new log per start)
#   cl_wait_ready I   waits up to 30 s for node I's "ready" line
#   cl_start I        both
#   cl_kill I         SIGKILL; cl_stop I: SIGTERM, 5 s, SIGKILL; cl_stop_all
#   cl_json I         GET /cluster of node I (empty when it does not answer)
#   cl_wait_stable SECS [ISR]   every live node answers and agrees on one
#                     master that says "master" and the others "slave", with
#                     an in-sync set of at least ISR (default 3) members;
#                     sets CL_MASTER, CL_LEADER, CL_EPOCH, CL_ISR; returns 1 on
#                     timeout. CL_ONLY="i j" looks at those nodes only.
#   cl_ends I         "topic partition end" lines from node I's /metrics
#   cl_bootstrap / cl_namesrv   Kafka bootstrap list / RocketMQ namesrvAddr
#   show_logs         the last lines of every node's log (with the caller's log)
#
# Arrays are indexed by node id (1..3). PY must point at a python3.

CL_DIR=""
[ -n "${CL_NODES[*]:-}" ] || CL_NODES=(1 2 3)
declare -a HOST KPORT NSPORT BPORT HPORT RPORT HAPORT PID NS_OF STARTS CL_GROUP

cl_free_ports() {
    "$PY" - "$1" <<'PYEOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PYEOF
}

cl_plan_loopback() {
    CL_DIR="$1"
    local ports i
    read -r -a ports <<<"$(cl_free_ports $((${#CL_NODES[@]} * 6)))"
    for i in "${CL_NODES[@]}"; do
        local b=$(((i - 1) * 6))
        HOST[i]=127.0.0.1
        KPORT[i]=${ports[b]}
        NSPORT[i]=${ports[b + 1]}
        BPORT[i]=${ports[b + 2]}
        HPORT[i]=${ports[b + 3]}
        RPORT[i]=${ports[b + 4]}
        HAPORT[i]=${ports[b + 5]}
        NS_OF[i]=""
        PID[i]=""
        STARTS[i]=0
    done
}

cl_plan_netns() {
    CL_DIR="$1"
    shift
    local i
    for i in "${CL_NODES[@]}"; do
        HOST[i]="$1"
        shift
        KPORT[i]=9092
        NSPORT[i]=9876
        BPORT[i]=10911
        HPORT[i]=8080
        RPORT[i]=9093
        HAPORT[i]=10912
        PID[i]=""
        STARTS[i]=0
    done
}

cl_write_configs() {
    local voters="" i kv
    for i in ${CL_VOTERS:-${CL_NODES[*]}}; do
        voters+="${voters:+,}$i@${HOST[i]}:${RPORT[i]}"
    done
    for i in "${CL_NODES[@]}"; do
        mkdir -p "$CL_DIR/node-$i"
        {
            echo "node.id=$i"
            echo "controller.quorum.voters=$voters"
            [[ ",$voters" == *",$i@"* ]] || echo "rokka.clusterListen=${HOST[i]}:${RPORT[i]}"
            echo "brokerClusterName=DefaultCluster"
            echo "brokerName=${CL_GROUP[i]:-broker-a}"
            echo "brokerRole=SYNC_MASTER"
            echo "min.insync.replicas=2"
            echo "haListenPort=${HAPORT[i]}"
            echo "listenPort=${BPORT[i]}"
            echo "rokka.namesrvPort=${NSPORT[i]}"
            echo "rokka.kafkaPort=${KPORT[i]}"
            echo "rokka.httpPort=${HPORT[i]}"
            echo "grpcServerPort=0"
            echo "rokka.bindAddress=${HOST[i]}"
            # Small ConsumeQueue and index files (the defaults preallocate
            # about 0.4 GiB per node); the suites choose the segment size.
            echo "mappedFileSizeConsumeQueue=120000"
            echo "maxHashSlotNum=10000"
            echo "maxIndexNum=40000"
            for kv in "$@"; do echo "$kv"; done
        } >"$CL_DIR/node-$i.properties"
    done
}

cl_log() { echo "$CL_DIR/node-$1/run-${STARTS[$1]}.log"; }

cl_launch() {
    local i="$1" log
    STARTS[i]=$((STARTS[i] + 1))
    log="$(cl_log "$i")"
    local -a pre=()
    [ -n "${NS_OF[i]}" ] && pre=(ip netns exec "${NS_OF[i]}")
    "${pre[@]}" "$ROKKA_BIN" --config "$CL_DIR/node-$i.properties" \
        --data-dir "$CL_DIR/node-$i/data" --log-level "${ROKKA_LOG_LEVEL:-info}" >"$log" 2>&1 &
    PID[i]=$!
}

cl_start() { cl_launch "$1" && cl_wait_ready "$1"; }

cl_wait_ready() {
    local i="$1" log _
    log="$(cl_log "$i")"
    for _ in $(seq 1 300); do
        grep -q "rokka .* ready" "$log" && return 0
        kill -0 "${PID[i]}" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 30 "$log" >&2
    echo "node $i did not start (log above: $log)" >&2
    return 1
}

show_logs() {
    local i
    for i in "${CL_NODES[@]}"; do
        log "node $i, last lines of $(cl_log "$i"):"
        tail -n 15 "$(cl_log "$i")" | sed 's/^/    /' || true
    done
}

cl_kill() {
    local i="$1"
    [ -n "${PID[i]}" ] || return 0
    kill -9 "${PID[i]}" 2>/dev/null || true
    wait "${PID[i]}" 2>/dev/null || true
    PID[i]=""
}

cl_stop() {
    local i="$1" _
    [ -n "${PID[i]}" ] || return 0
    kill "${PID[i]}" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "${PID[i]}" 2>/dev/null || break
        sleep 0.1
    done
    cl_kill "$i"
}

cl_stop_all() {
    local i
    for i in "${CL_NODES[@]}"; do cl_stop "$i"; done
}

cl_json() { curl -s -m 1 "http://${HOST[$1]}:${HPORT[$1]}/cluster" 2>/dev/null || true; }

# Prints "master leader epoch isr_size" when the live nodes agree and are
# settled, else nothing.
cl_settled() {
    local i views=()
    for i in ${CL_ONLY:-${CL_NODES[*]}}; do
        [ -n "${PID[i]}" ] || continue
        views+=("$(cl_json "$i")")
    done
    "$PY" - "${CL_GROUP_NAME:-broker-a}" "${views[@]}" <<'PYEOF'
import json, sys
try:
    views = [json.loads(v) for v in sys.argv[2:]]
except ValueError:
    sys.exit(0)
groups = [v.get("groups", {}).get(sys.argv[1]) or {} for v in views]
masters = {g.get("master") for g in groups}
if len(masters) != 1 or None in masters:
    sys.exit(0)
m = masters.pop()
for v in views:
    if v.get("role") != ("master" if v.get("node_id") == m else "slave"):
        sys.exit(0)
mine = [g for v, g in zip(views, groups) if v.get("node_id") == m]
if not mine:
    sys.exit(0)
leaders = {v.get("raft_leader") for v in views}
leader = leaders.pop() if len(leaders) == 1 else None
print(m, leader if leader is not None else "-", mine[0].get("epoch"), len(mine[0].get("isr") or []))
PYEOF
}

cl_wait_stable() {
    local secs="$1" want_isr="${2:-3}" deadline s
    deadline=$(($(date +%s) + secs))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        s="$(cl_settled)"
        if [ -n "$s" ]; then
            read -r CL_MASTER CL_LEADER CL_EPOCH CL_ISR <<<"$s"
            [ "$CL_ISR" -ge "$want_isr" ] && return 0
        fi
        sleep 0.1
    done
    return 1
}

cl_ends() {
    curl -s -m 2 "http://${HOST[$1]}:${HPORT[$1]}/metrics" 2>/dev/null |
        sed -n 's/^rokka_topic_partition_log_end_offset{partition="\([0-9]*\)",topic="\([^"]*\)"} \([0-9.e+]*\)$/\2 \1 \3/p' |
        sort || true
}

cl_bootstrap() {
    local i out=""
    for i in "${CL_NODES[@]}"; do out+="${out:+,}${HOST[i]}:${KPORT[i]}"; done
    echo "$out"
}

cl_namesrv() {
    local i out=""
    for i in "${CL_NODES[@]}"; do out+="${out:+;}${HOST[i]}:${NSPORT[i]}"; done
    echo "$out"
}

# cl_wait_caught_up I M SECS TOPIC...: waits until node I's log end offset
# of every partition of those topics reaches what node M reports now.
# Returns 1 on timeout, 2 when M reports none of the topics.
cl_wait_caught_up() {
    local i="$1" m="$2" secs="$3" re deadline
    shift 3
    re="^($(
        IFS='|'
        echo "$*"
    )) "
    cl_ends "$m" | grep -E "$re" >"$CL_DIR/ends-target" || true
    [ -s "$CL_DIR/ends-target" ] || return 2
    deadline=$(($(date +%s) + secs))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        cl_ends "$i" | grep -E "$re" >"$CL_DIR/ends-mine" || true
        awk 'NR == FNR { t[$1 " " $2] = $3; next } { m[$1 " " $2] = $3 }
             END { for (k in t) if (!(k in m) || m[k] + 0 < t[k] + 0) exit 1 }' \
            "$CL_DIR/ends-target" "$CL_DIR/ends-mine" && return 0
        sleep 0.2
    done
    return 1
}
