#!/usr/bin/env bash
# TLS and RocketMQ ACL 1.0 on the gRPC port (ADR 027), called by run.sh and
# runnable alone: a real rokka with aclEnable=true, a plain_acl.yml written
# here and tls.server.mode=permissive with certificates generated here;
#   rocketmq-python-client 5.1.2 (PyPI) with Credentials: a producer over
#     TLS (server certificate checked against the test's CA) and a
#     SimpleConsumer in plain text on the same port, both signed, allowed;
#     a wrong secret refused (UNAUTHORIZED), a reader publishing and a
#     consumer of a group it may not use refused (FORBIDDEN);
#   the refusals counted in rokka_authentications_total{listener="grpc"}
#     and rokka_authorization_denials_total{protocol="grpc"}.
# Runs in about 5 s once the SDK is installed.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { printf '[security-grpc-acl] %s\n' "$*"; }
fail() { log "FAIL: $*"; exit 1; }

# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
python_venv "$ROOT/target/conformance-grpc-venv" \
    "import rocketmq, importlib.metadata as m; assert m.version('rocketmq-python-client') == '5.1.2'" \
    "rocketmq-python-client==5.1.2"
rokka_scratch
W="$ROKKA_WORK"
test_certs "$W"

cat >"$W/plain_acl.yml" <<'YML'
accounts:
  - accessKey: grpc-writer
    secretKey: writer-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - grpc-acl=PUB
  - accessKey: grpc-reader
    secretKey: reader-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - grpc-acl=SUB
    groupPerms:
      - grpc-group=SUB
YML
cat >"$W/broker.conf" <<CONF
aclEnable=true
rokka.aclFile=$W/plain_acl.yml
tls.server.mode=permissive
tls.server.certPath=$W/server.pem
tls.server.keyPath=$W/server.key
CONF
rokka_start "$W" --config "$W/broker.conf"
[ -n "$ROKKA_GRPC" ] || fail "no 'grpc listening on' line in the log"

# gRPC's default trust store is replaced by the test's CA for the TLS client.
HOME="$W" GRPC_DEFAULT_SSL_ROOTS_FILE_PATH="$W/ca.pem" timeout 120 "$PY" "$HERE/grpc_acl.py" \
    "$ROKKA_GRPC" || { tail -40 "$ROKKA_LOG" >&2; fail "Python SDK ACL scenarios"; }

metrics="$(curl -s "http://$ROKKA_HTTP/metrics")"
grep -q 'rokka_authentications_total{listener="grpc",mechanism="ACL",result="failure"} [1-9]' \
    <<<"$metrics" || fail "no gRPC authentication failure counted"
grep -q 'rokka_authorization_denials_total{protocol="grpc",resource_type="topic"} [1-9]' \
    <<<"$metrics" || fail "no gRPC topic denial counted"
grep -q 'rokka_authorization_denials_total{protocol="grpc",resource_type="group"} [1-9]' \
    <<<"$metrics" || fail "no gRPC group denial counted"
grep -q "writer-secret\|reader-secret" "$ROKKA_LOG" && fail "a secret reached the log"
log "PASS"
