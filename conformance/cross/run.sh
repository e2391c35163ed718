#!/usr/bin/env bash
# Cross-protocol conformance (issue 5): real clients of both ecosystems on the
# same topics and consumer groups of one real rokka ($ROKKA_BIN).
#   data.sh    RocketMQ producer → kcat, confluent-kafka and sarama readers;
#              Kafka producers (every codec) → RocketMQ push and lite pull
#              consumers, query by key, view by id.
#   groups.sh  consumer groups handed over between ecosystems mid-stream, and
#              the mixed live group rule (ADR 006).
# Each script installs its clients, starts its own rokka and bounds its waits.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
for s in data.sh groups.sh; do
    echo "--- conformance/cross/$s"
    bash "$here/$s"
done
