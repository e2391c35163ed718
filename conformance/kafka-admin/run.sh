#!/usr/bin/env bash
# Kafka admin conformance: drives a real rokka ($ROKKA_BIN) with the admin
# clients of confluent-kafka and kafka-python (PyPI, pinned):
#   create topics with configs -> describe shows them; incremental and
#   legacy alter -> describe shows the change and the broker enforces it
#   (a batch over max.message.bytes refused, LogAppendTime stamped,
#   retention.ms honoured by the retention pass, forced every 500 ms here
#   via log.retention.check.interval.ms); dynamic broker configs; group
#   administration (reset offsets refused while active, allowed once empty;
#   delete offsets; delete groups); DescribeLogDirs, DescribeProducers,
#   ElectLeaders, partition reassignments.
# Installs what it needs, binds 127.0.0.1 on free ports, bounds every wait.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
KAFKA_PYTHON_VERSION=3.0.12
CONFLUENT_KAFKA_VERSION=2.16.1

log() { printf '[kafka-admin-conformance] %s\n' "$*"; }
fail() { log "FAIL: $*"; exit 1; }

VENV="$ROOT/target/conformance-kafka-admin-venv"
if ! "$VENV/bin/python" -c "import kafka, confluent_kafka" >/dev/null 2>&1; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
        "kafka-python==$KAFKA_PYTHON_VERSION" "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
fi

WORK="$(mktemp -d)"
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
cleanup() {
    rokka_stop
    if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

printf 'log.retention.check.interval.ms=500\n' >"$WORK/broker.conf"
rokka_start "$WORK" --config "$WORK/broker.conf" || fail "rokka did not start"
log "rokka kafka listener at $ROKKA_KAFKA"
if ! timeout 180 "$VENV/bin/python" "$HERE/admin_scenarios.py" "$ROKKA_KAFKA"; then
    log "rokka log tail:"
    tail -40 "$WORK/rokka.log" || true
    fail "admin scenarios"
fi
# The configs survive a restart (topics.json, kafka_broker_configs.json).
rokka_stop
rokka_start "$WORK" --config "$WORK/broker.conf" || fail "rokka did not restart"
timeout 60 "$VENV/bin/python" "$HERE/admin_scenarios.py" "$ROKKA_KAFKA" --after-restart \
    || fail "configs after restart"
log "ok"
