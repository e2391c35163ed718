#!/usr/bin/env bash
# RocketMQ ACL 1.0 (ADR 016 addendum), called by run.sh and runnable alone:
# a real rokka with aclEnable=true and a plain_acl.yml written here;
#   rocketmq-client-rust 1.0.0 with its AclClientRPCHook: allowed send,
#     denied send (NO_PERMISSION remark), wrong secret, unsigned, allowed
#     pull, pull with a group not granted;
#   rmq_admin.py (raw frames signed with Python's hmac): the ACL admin codes
#     50-54 as mqadmin sends them, admin-only, persisted to the file;
#   the file edited by hand -> reloaded: 127.0.0.1 globally white-listed,
#     an unsigned client is then allowed;
#   metrics for the refusals, and no secret in the log;
#   then a rokka with tls.server.mode=enforcing: the same client with
#     use_tls (server certificate checked against the test's CA) sends and
#     push-consumes over TLS; plain text on the NameServer port is refused.
# Runs in about 10 s once the client is built (conformance/rocketmq builds
# the same program).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { printf '[security-rocketmq-acl] %s\n' "$*"; }
fail() { log "FAIL: $*"; exit 1; }

# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
rocketmq_client_build --quiet
rokka_scratch
W="$ROKKA_WORK"

cat >"$W/plain_acl.yml" <<'YML'
accounts:
  - accessKey: rmq-writer
    secretKey: writer-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - acl-topic=PUB|SUB
  - accessKey: rmq-reader
    secretKey: reader-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - acl-topic=SUB
    groupPerms:
      - acl-group=SUB
  - accessKey: rmq-admin1
    secretKey: admin-secret1
    admin: true
YML
cat >"$W/broker.conf" <<CONF
aclEnable=true
rokka.aclFile=$W/plain_acl.yml
CONF
rokka_start "$W" --config "$W/broker.conf"

timeout 120 "$ROCKETMQ_CLIENT" "$ROKKA_NAMESRV" acl 2>"$W/client.err" | tee "$W/client.out" \
    | grep -E "^(PASS|FAIL)" || true
grep -q "^FAIL" "$W/client.out" && fail "client scenarios"
[ "$(grep -c "^PASS" "$W/client.out")" -eq 6 ] || { tail -20 "$W/client.err"; fail "client scenarios did not all run"; }

python3 "$HERE/rmq_admin.py" "$ROKKA_REMOTING" "$W/plain_acl.yml" || fail "ACL admin codes"

# Edited by hand (the white list code 53 wrote): rokka looks at the file at
# most once a second, at a request.
grep -q "10.9.8.7" "$W/plain_acl.yml" || fail "code 53 did not write the white list"
sed -i 's/10\.9\.8\.7/127.0.0.1/' "$W/plain_acl.yml"
sleep 1.5
timeout 60 "$ROCKETMQ_CLIENT" "$ROKKA_NAMESRV" acl-white 2>>"$W/client.err" | grep -E "^(PASS|FAIL)" \
    | tee "$W/white.out"
grep -q "^PASS" "$W/white.out" || fail "white-listed address"
grep -q "ACL file reloaded" "$ROKKA_LOG" || fail "no reload line in the log"

metrics="$(curl -s "http://$ROKKA_HTTP/metrics")"
grep -q 'rokka_authentications_total{listener="remoting",mechanism="ACL",result="failure"} [1-9]' <<<"$metrics" \
    || fail "no authentication failure metric"
for t in topic group cluster; do
    grep -q "rokka_authorization_denials_total{protocol=\"rocketmq\",resource_type=\"$t\"} [1-9]" <<<"$metrics" \
        || fail "no $t denial metric"
done
for text in "Check signature failed for accessKey=rmq-writer" "No accessKey is configured"; do
    grep -q "RocketMQ ACL authentication failed: $text" "$ROKKA_LOG" || fail "no log line '$text'"
done
grep "authorization denied" "$ROKKA_LOG" | grep -q "acl-topic" || fail "no denial line for acl-topic"
grep "authorization denied" "$ROKKA_LOG" | grep -q "acl-other-group" || fail "no denial line for the group"
grep -q "writer-secret\|reader-secret\|admin-secret1\|late-secret1" "$ROKKA_LOG" && fail "a secret reached the log"
kill -0 "$ROKKA_PID" || fail "rokka died"
log "ACL: PASS"

# --- rocketmq-client-rust over TLS (enforcing: NameServer and broker TLS only) ---
rokka_stop
mkdir -p "$W/certs"
test_certs "$W/certs"
cat >"$W/tls.conf" <<CONF
tls.server.mode=enforcing
tls.server.certPath=$W/certs/server.pem
tls.server.keyPath=$W/certs/server.key
CONF
mkdir -p "$W/tls-run"
rokka_start "$W/tls-run" --config "$W/tls.conf"
# The client verifies the server certificate against this CA.
ROKKA_TLS_CA="$W/certs/ca.pem" timeout 60 "$ROCKETMQ_CLIENT" "$ROKKA_NAMESRV" tls 2>>"$W/client.err" | grep -E "^(PASS|FAIL)" \
    | tee "$W/tls.out"
[ "$(grep -c "^PASS" "$W/tls.out")" -eq 2 ] || { tail -20 "$W/client.err"; fail "client over TLS"; }
# A plain-text request on the enforcing NameServer port gets no answer.
python3 - "$ROKKA_NAMESRV" <<'PY' || fail "plain text answered on an enforcing TLS port"
import socket, struct, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=5)
header = b'{"code":105,"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":0}'
s.sendall(struct.pack(">II", 4 + len(header), len(header)) + header)
try:
    data = s.recv(4096)
except (socket.timeout, ConnectionResetError):
    data = b""
sys.exit(1 if len(data) >= 8 and data[4:5] == b"\x00" else 0)
PY
grep -q "TLS refused" "$ROKKA_LOG" || fail "no log line for plain text on the TLS port"
log "rocketmq-client-rust over TLS (NameServer and broker, server certificate verified): send and consume; plain text refused"
log "PASS"
