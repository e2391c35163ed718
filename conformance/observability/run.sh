#!/usr/bin/env bash
# Observability conformance: installs Debian's prometheus (with promtool),
# starts the release rokka ($ROKKA_BIN) on 127.0.0.1 with free ports and a temp
# data dir, puts load through both protocols with real clients (kcat produces
# N and a `kcat -G` group consumes M then stops, so it lags N-M; the
# rocketmq-client-rust scenario binary (built here, a no-op when up to date) runs its
# scenarios and then its `lag` subcommand: N sends, a lite pull group polls M
# and commits M), starts Prometheus on loopback scraping rokka with
# grafana/prometheus.yml, then:
#   - `promtool check metrics` over a scrape of /metrics, and every
#     compatibility family of the issue present with the exporters' labels,
#   - the Kafka group's and the RocketMQ group's lag read through Prometheus
#     are N-M (rokka's family and the kafka_exporter / RocketMQ-compatible
#     ones),
#   - every PromQL expression of every dashboard in grafana/dashboards returns
#     at least one series (variables substituted with real values).
# Everything started here is killed on exit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
: "${ROKKA_BIN:=$repo/target/release/rokka}"
[ -x "$ROKKA_BIN" ] || { echo "ROKKA_BIN=$ROKKA_BIN is not executable" >&2; exit 1; }

install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 || {
        apt-get update >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null
    }
}
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null || ! command -v kcat >/dev/null; then
    echo "installing prometheus and kcat (Debian packages)"
    install prometheus kcat
fi

work="$(mktemp -d)"
# shellcheck source=../lib/rokka.sh
. "$repo/conformance/lib/rokka.sh"
pids=()
cleanup() {
    rokka_stop
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "observability conformance FAILED: $*" >&2
    echo "---- rokka log (tail) ----" >&2; tail -30 "$work/rokka.log" >&2 || true
    echo "---- prometheus log (tail) ----" >&2; tail -20 "$work/prometheus.log" >&2 || true
    exit 1
}
get() { python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1"; }
# One instant query; prints the first value or nothing.
query() {
    python3 - "$prom" "$1" <<'EOF'
import json, sys, urllib.parse, urllib.request
url = sys.argv[1] + "/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[2]})
r = json.load(urllib.request.urlopen(url, timeout=10))["data"]["result"]
print(r[0]["value"][1] if r else "")
EOF
}

# The client scenarios below include SQL92 selectors (conformance/rocketmq).
printf 'enablePropertyFilter=true\n' >"$work/broker.conf"
rokka_start "$work" --config "$work/broker.conf" || fail "rokka did not start within 20 s"
http="$ROKKA_HTTP" kafka="$ROKKA_KAFKA" namesrv="$ROKKA_NAMESRV"
echo "rokka: http $http, kafka $kafka, namesrv $namesrv"

# Kafka: N records, a group that reads M and commits, then stops.
N=100 M=40 topic=obs-kafka group=obs-kafka-group
seq 1 "$N" | timeout 60 kcat -P -b "$kafka" -t "$topic" -p 0 || fail "kcat produce"
timeout 60 kcat -b "$kafka" -G "$group" -c "$M" -q \
    -X auto.offset.reset=earliest -X enable.auto.commit=true "$topic" >"$work/consumed.txt" \
    || fail "kcat -G consume"
[ "$(wc -l <"$work/consumed.txt")" -eq "$M" ] || fail "kcat -G consumed $(wc -l <"$work/consumed.txt") records, want $M"
# A request for an API rokka does not serve (key 99): closes the connection
# and is counted as an error.
printf '\x00\x00\x00\x0a\x00\x63\x00\x00\x00\x00\x00\x01\xff\xff' \
    | timeout 5 python3 -c 'import socket,sys; h,p=sys.argv[1].rsplit(":",1); s=socket.create_connection((h,int(p))); s.sendall(sys.stdin.buffer.read()); s.recv(10)' "$kafka" || true
# A frame over the size limit: refused and counted in rokka_rejected_frames_total.
printf '\x7f\xff\xff\xff' \
    | timeout 5 python3 -c 'import socket,sys; h,p=sys.argv[1].rsplit(":",1); s=socket.create_connection((h,int(p))); s.sendall(sys.stdin.buffer.read()); s.recv(10)' "$kafka" || true

# RocketMQ: the rocketmq-client-rust scenarios (send, push/pull/lite-pull
# consumers with committed offsets, retries), then a
# group that lags: N sends to queue 0, a lite pull group polls M and commits M.
rocketmq_client_build >"$work/client-build.log" 2>&1 \
    || { tail -20 "$work/client-build.log"; fail "building the RocketMQ client"; }
client="$ROCKETMQ_CLIENT"
echo "RocketMQ load: $client"
timeout 360 "$client" "$namesrv" >"$work/client.log" 2>&1 \
    || { tail -20 "$work/client.log"; fail "RocketMQ client scenarios"; }
RN=60 RM=25 rtopic=obs-rocketmq rgroup=obs-rocketmq-group
timeout 240 "$client" "$namesrv" lag "$rtopic" "$rgroup" "$RN" "$RM" >"$work/lag.log" 2>&1 \
    || { grep -v '^.\[' "$work/lag.log" | tail -5; tail -5 "$work/lag.log"; fail "RocketMQ lag scenario"; }
grep '^LAG OK' "$work/lag.log"

# Prometheus on loopback, scraping rokka with grafana/prometheus.yml.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
sed "s/127\.0\.0\.1:8080/$http/" "$repo/grafana/prometheus.yml" >"$work/prometheus.yml"
grep -q "$http" "$work/prometheus.yml" || fail "could not rewrite the scrape target"
prom="http://127.0.0.1:$port"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do get "$prom/-/ready" >/dev/null 2>&1 && break; sleep 0.2; done
get "$prom/-/ready" >/dev/null 2>&1 || fail "prometheus not ready"
# Enough scrapes for rate()/deriv() over 1m windows.
for _ in $(seq 1 60); do
    [ "$(query 'count_over_time(up{job="rokka"}[1m])')" ] && \
        [ "$(query 'count_over_time(up{job="rokka"}[1m])')" -ge 4 ] 2>/dev/null && break
    sleep 1
done
[ "$(query 'up{job="rokka"}')" = "1" ] || fail "prometheus does not scrape rokka"

echo "promtool check metrics"
get "http://$http/metrics" >"$work/metrics.txt"
# Two findings are the exporters' own names, kept so their dashboards work
# (both pass with --no-compat-metrics): kafka_exporter's
# kafka_consumergroup_{lag,current_offset}_sum break the `_sum` suffix rule,
# and rocketmq-exporter's rocketmq_group_diff has the camelCase label
# countOfOnlineConsumers. Any other finding fails.
promtool check metrics <"$work/metrics.txt" >"$work/promtool.txt" 2>&1 || true
cat "$work/promtool.txt"
if grep -Ev '^kafka_consumergroup_(lag|current_offset)_sum non-histogram and non-summary metrics should not have "_sum" suffix$' \
    "$work/promtool.txt" \
    | grep -Ev "^rocketmq_group_diff label names should be written in 'snake_case' not 'camelCase'$" \
    | grep -q .; then
    fail "promtool check metrics"
fi

# Every compatibility family the issue names is published, with the label
# names the exporters use (dashboards built on them match on both).
missing=""
while read -r family labels; do
    line="$(grep -m1 "^$family{" "$work/metrics.txt" || true)"
    if [ -z "$line" ]; then
        missing="$missing $family"
        continue
    fi
    for l in ${labels//,/ }; do
        case "$line" in *"$l=\""*) ;; *) missing="$missing $family(label $l)" ;; esac
    done
done <<'FAMILIES'
kafka_topic_partitions topic
kafka_topic_partition_current_offset topic,partition
kafka_topic_partition_oldest_offset topic,partition
kafka_consumergroup_current_offset consumergroup,topic,partition
kafka_consumergroup_lag consumergroup,topic,partition
kafka_consumergroup_lag_sum consumergroup,topic
kafka_consumergroup_members consumergroup
rocketmq_messages_in_total cluster,node_type,node_id,topic
rocketmq_messages_out_total cluster,node_type,node_id,topic,consumer_group
rocketmq_throughput_in_total cluster,node_type,node_id,topic
rocketmq_throughput_out_total cluster,node_type,node_id,topic,consumer_group
rocketmq_consumer_lag_messages cluster,node_type,node_id,topic,consumer_group
rocketmq_consumer_lag_latency cluster,node_type,node_id,topic,consumer_group
rocketmq_group_diff group,topic,countOfOnlineConsumers,msgModel
rocketmq_producer_tps cluster,broker,topic
rocketmq_consumer_tps cluster,broker,topic,group
FAMILIES
grep -q '^kafka_brokers ' "$work/metrics.txt" || missing="$missing kafka_brokers"
[ -z "$missing" ] || fail "compatibility families missing:$missing"
echo "all compatibility families present with the exporters' labels"

lag="$(query "sum(rokka_consumergroup_lag_messages{group=\"$group\",topic=\"$topic\"})")"
compat="$(query "kafka_consumergroup_lag_sum{consumergroup=\"$group\",topic=\"$topic\"}")"
echo "Kafka group $group lag: rokka $lag, kafka_exporter-compatible $compat (want $((N - M)))"
[ "$lag" = "$((N - M))" ] && [ "$compat" = "$((N - M))" ] || fail "lag is not N-M"
rlag="$(query "sum(rokka_consumergroup_lag_messages{group=\"$rgroup\",topic=\"$rtopic\"})")"
rcompat="$(query "sum(rocketmq_consumer_lag_messages{consumer_group=\"$rgroup\",topic=\"$rtopic\"})")"
echo "RocketMQ group $rgroup lag: rokka $rlag, RocketMQ-compatible $rcompat (want $((RN - RM)))"
[ "$rlag" = "$((RN - RM))" ] && [ "$rcompat" = "$((RN - RM))" ] || fail "RocketMQ lag is not N-M"

python3 "$here/check_dashboards.py" "$prom" "$repo/grafana/dashboards" \
    "topic=$topic" "group=$group" || fail "dashboard expressions"
echo "observability conformance passed"
