#!/usr/bin/env bash
# RocketMQ conformance: builds the crates.io rocketmq-client-rust scenario
# program (conformance/rocketmq/client, standalone crate with its own
# Cargo.lock), starts the release rokka ($ROKKA_BIN) on 127.0.0.1 with free
# ports and a temp data dir, runs the scenarios with a bounded timeout, and
# exits non-zero if any scenario fails. rokka is killed on exit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
: "${ROKKA_BIN:=$repo/target/release/rokka}"
[ -x "$ROKKA_BIN" ] || { echo "ROKKA_BIN=$ROKKA_BIN is not executable" >&2; exit 1; }

# shellcheck source=../lib/rokka.sh
. "$repo/conformance/lib/rokka.sh"
echo "building the RocketMQ client scenarios (first build takes several minutes)"
rocketmq_client_build
client="$ROCKETMQ_CLIENT"

rokka_scratch
work="$ROKKA_WORK"

# Port 0 everywhere: the addresses are read back from the log. SQL92
# subscriptions need the property filter switched on, as on a real broker.
printf 'enablePropertyFilter=true\n' >"$work/broker.conf"
rokka_start "$work" --config "$work/broker.conf" || exit 1
namesrv="$ROKKA_NAMESRV"
echo "rokka pid $ROKKA_PID, namesrv $namesrv"

start=$(date +%s)
status=0
timeout 360 "$client" "$namesrv" >"$work/client.log" 2>&1 || status=$?
grep -E "^(PASS|FAIL|CONFORMANCE|timer lateness)" "$work/client.log" || true
# Which request codes the client exercised, from rokka's /metrics.
http="$ROKKA_HTTP"
if [ -n "$http" ] && exec 3<>"/dev/tcp/${http%:*}/${http##*:}" 2>/dev/null; then
    printf 'GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$http" >&3
    echo "request codes served (code=count):"
    grep '^rokka_remoting_requests_total' <&3 | sed 's/.*code="\([0-9]*\)"} \(.*\)/\1=\2/' | sort -n | tr '\n' ' '
    echo
    exec 3>&-
fi
echo "rocketmq conformance took $(( $(date +%s) - start )) s"
if [ "$status" -ne 0 ]; then
    echo "---- client log (tail) ----"; tail -50 "$work/client.log"
    echo "---- rokka log (tail) ----"; tail -50 "$ROKKA_LOG"
    echo "rocketmq conformance FAILED (exit $status)" >&2
    exit 1
fi
echo "rocketmq conformance passed"
