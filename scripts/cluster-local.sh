#!/usr/bin/env bash
# Starts a three-node rokka cluster on this machine (loopback), one broker
# group broker-a, SYNC_MASTER with min.insync.replicas=2. Ctrl-C stops all.
# Usage: scripts/cluster-local.sh [DIR]   (configs, data and logs under DIR,
# default target/cluster-local; a relative DIR is taken from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/cluster-local}
mkdir -p "$dir"
voters="1@127.0.0.1:9301,2@127.0.0.1:9302,3@127.0.0.1:9303"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' INT TERM EXIT
cargo build --release
for n in 1 2 3; do
  cat > "$dir/node-$n.properties" <<CONF
node.id=$n
controller.quorum.voters=$voters
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerRole=SYNC_MASTER
min.insync.replicas=2
rokka.bindAddress=127.0.0.1
rokka.namesrvPort=${n}9876
listenPort=${n}0911
haListenPort=${n}0912
rokka.kafkaPort=${n}9092
rokka.httpPort=${n}8080
grpcServerPort=${n}8081
rokka.dataDir=$dir/data-$n
CONF
  target/release/rokka --config "$dir/node-$n.properties" 2> "$dir/node-$n.log" &
  pids+=($!)
done
echo "cluster up: Kafka 127.0.0.1:19092,29092,39092; NameServer 127.0.0.1:19876;"
echo "status: curl -s 127.0.0.1:18080/cluster   logs: $dir/node-N.log"
wait
