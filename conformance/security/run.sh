#!/usr/bin/env bash
# Security conformance (ADR 014): a real rokka with a PLAINTEXT, an SSL
# (mutual TLS), a SASL_PLAINTEXT and a SASL_SSL Kafka listener, RocketMQ
# listeners and HTTP in TLS, certificates generated here with openssl.
#   kcat (Debian): produce/consume over SSL with a client certificate, PLAIN
#     over SASL_PLAINTEXT and SASL_SSL, wrong password refused;
#   confluent-kafka 2.16.1 (PyPI): SCRAM credentials created with
#     AlterUserScramCredentials, SCRAM-SHA-256/512 right and wrong password;
#   kafka-python 3.0.12 (PyPI): PLAIN and SCRAM-SHA-512;
#   sarama 1.22.1 + xdg-go/scram (Debian): mTLS, PLAIN, SCRAM-SHA-256/512
#     over SASL_PLAINTEXT and SASL_SSL, wrong passwords refused;
#   openssl s_client: NameServer and broker ports over TLS (permissive);
#   bad input: TLS hello on the plain port, plain bytes on TLS ports,
#     unknown mechanism, malformed token -> closed + metric + log line;
#   ACLs (restart with the authorizer on): confluent-kafka CreateAcls,
#     DescribeAcls, DeleteAcls; alice allowed/denied on Produce, Fetch,
#     CreateTopics and DeleteTopics with TOPIC_AUTHORIZATION_FAILED; a group,
#     a transactional id, DescribeConfigs and ListOffsets refused (30, 53, 29);
#   RocketMQ ACL 1.0 (rocketmq_acl.sh, its own rokka): rocketmq-client-rust
#     with AclClientRPCHook, the ACL admin codes, a white-listed address;
#   gRPC port (grpc_acl.sh, its own rokka): rocketmq-python-client 5.1.2
#     with Credentials over TLS and plain text on one port, 40100/40300.
# Runs in about 100 s plus 10 s for rocketmq_acl.sh and 5 s for grpc_acl.sh (wrong-password attempts
# wait for client timeouts; the RocketMQ client is built once, see
# conformance/rocketmq).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { printf '[security-conformance] %s\n' "$*"; }
fail() { log "FAIL: $*"; exit 1; }

APT_PKGS=(kcat openssl curl golang-go golang-github-shopify-sarama-dev golang-github-xdg-go-scram-dev)
if ! command -v kcat >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1 \
    || ! command -v curl >/dev/null 2>&1 || ! command -v go >/dev/null 2>&1 \
    || [ ! -d /usr/share/gocode/src/github.com/Shopify/sarama ] \
    || [ ! -d /usr/share/gocode/src/github.com/xdg-go/scram ]; then
    apt-get install -y --no-install-recommends "${APT_PKGS[@]}" >/dev/null 2>&1 \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${APT_PKGS[@]}" >/dev/null; }
fi
VENV="$ROOT/target/conformance-security-venv"
if ! "$VENV/bin/python" -c 'import confluent_kafka, kafka' >/dev/null 2>&1; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
        "confluent-kafka==2.16.1" "kafka-python==3.0.12"
fi

# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
rokka_scratch
W="$ROKKA_WORK"

# --- certificates (generated for this run only) ------------------------------
ossl() { openssl "$@" >/dev/null 2>&1; }
test_certs "$W"
leaf() { # name CN [ext]
    ossl req -newkey rsa:2048 -nodes -keyout "$W/$1.key" -out "$W/$1.csr" -subj "/CN=$2"
    printf '%s\n' "${3:-basicConstraints=CA:FALSE}" >"$W/$1.ext"
    ossl x509 -req -in "$W/$1.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial \
        -out "$W/$1.pem" -days 1 -extfile "$W/$1.ext"
}
leaf client alice

cat >"$W/broker.conf" <<CONF
listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0
ssl.keystore.type=PEM
ssl.keystore.location=$W/keystore.pem
listener.name.ssl.ssl.client.auth=required
listener.name.ssl.ssl.truststore.location=$W/ca.pem
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" user_admin="admin-secret";
connections.max.reauth.ms=60000
tls.server.mode=permissive
tls.server.certPath=$W/server.pem
tls.server.keyPath=$W/server.key
CONF
rokka_start "$W" --config "$W/broker.conf"
port_of() { sed -n "s/.*kafka listener $1 ([A-Za-z]*) listening on \([0-9.:]*\).*/\1/p" "$ROKKA_LOG" | head -1; }
SSL_ADDR="$(port_of SSL)"; SASL_ADDR="$(port_of SASL_PLAINTEXT)"; SASL_SSL_ADDR="$(port_of SASL_SSL)"
[ -n "$SSL_ADDR" ] && [ -n "$SASL_ADDR" ] && [ -n "$SASL_SSL_ADDR" ] || fail "listeners not found in the log"
log "plain $ROKKA_KAFKA ssl $SSL_ADDR sasl $SASL_ADDR sasl_ssl $SASL_SSL_ADDR"

# --- kcat ------------------------------------------------------------------------
SSL=(-X security.protocol=SSL -X ssl.ca.location="$W/ca.pem"
     -X ssl.certificate.location="$W/client.pem" -X ssl.key.location="$W/client.key")
PLAIN=(-X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=PLAIN -X sasl.username=alice)
echo "over-mtls" | timeout 20 kcat -P -b "$SSL_ADDR" "${SSL[@]}" -t sec-ssl -p 0 || fail "kcat SSL produce"
got="$(timeout 20 kcat -C -b "$SSL_ADDR" "${SSL[@]}" -t sec-ssl -p 0 -o beginning -c 1 -e 2>/dev/null)"
[ "$got" = "over-mtls" ] || fail "kcat SSL consume got '$got'"
timeout 10 kcat -L -b "$SSL_ADDR" -X security.protocol=SSL -X ssl.ca.location="$W/ca.pem" -m 3 >/dev/null 2>&1 \
    && fail "SSL listener accepted a client without a certificate"
echo "over-sasl" | timeout 20 kcat -P -b "$SASL_ADDR" "${PLAIN[@]}" -X sasl.password=alice-secret -t sec-sasl -p 0 \
    || fail "kcat PLAIN produce"
got="$(timeout 20 kcat -C -b "$SASL_SSL_ADDR" -X security.protocol=SASL_SSL -X ssl.ca.location="$W/ca.pem" \
    -X sasl.mechanisms=PLAIN -X sasl.username=alice -X sasl.password=alice-secret \
    -t sec-sasl -p 0 -o beginning -c 1 -e 2>/dev/null)"
[ "$got" = "over-sasl" ] || fail "kcat SASL_SSL consume got '$got'"
out="$(timeout 10 kcat -L -b "$SASL_ADDR" "${PLAIN[@]}" -X sasl.password=wrong -m 3 2>&1 || true)"
grep -q "Invalid username or password" <<<"$out" || fail "wrong PLAIN password: $out"
log "kcat: mTLS, PLAIN over SASL_PLAINTEXT and SASL_SSL, wrong password refused"

# --- Python clients ------------------------------------------------------------
timeout 120 "$VENV/bin/python" "$HERE/scenarios.py" "$ROKKA_KAFKA" "$SASL_ADDR" || fail "python scenarios"

# --- sarama (Debian 1.22.1 + xdg-go/scram, GOPATH mode) ---------------------------
# After scenarios.py, which created bob's SCRAM credentials.
mkdir -p "$W/go"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$W/go/cache" GOFLAGS= \
    go build -o "$W/go/sarama-sec" "$HERE/sarama/main.go" 2>"$W/go/build.log" \
    || { cat "$W/go/build.log"; fail "sarama build"; }
sarama() { timeout 60 "$W/go/sarama-sec" -ca "$W/ca.pem" "$@"; }
sarama -mode ssl -brokers "$SSL_ADDR" -cert "$W/client.pem" -key "$W/client.key" || fail "sarama mTLS"
sarama -mode ssl -brokers "$SSL_ADDR" -expect-fail || fail "sarama SSL without a client certificate"
sarama -mode plain -brokers "$SASL_ADDR" -user alice -password alice-secret || fail "sarama PLAIN"
sarama -mode plain -brokers "$SASL_ADDR" -user alice -password wrong -expect-fail || fail "sarama PLAIN wrong password"
sarama -mode scram256 -tls -brokers "$SASL_SSL_ADDR" -user bob -password bob-secret || fail "sarama SCRAM-SHA-256 over SASL_SSL"
sarama -mode scram512 -brokers "$SASL_ADDR" -user bob -password bob-secret || fail "sarama SCRAM-SHA-512"
sarama -mode scram512 -tls -brokers "$SASL_SSL_ADDR" -user bob -password wrong -expect-fail \
    || fail "sarama SCRAM wrong password"
log "sarama: mTLS, PLAIN, SCRAM-SHA-256 over SASL_SSL, SCRAM-SHA-512; wrong passwords and a missing certificate refused"

# --- RocketMQ listeners over TLS (permissive) and HTTP --------------------------
for a in "$ROKKA_NAMESRV" "$ROKKA_REMOTING"; do
    echo | timeout 10 openssl s_client -connect "$a" -CAfile "$W/ca.pem" 2>/dev/null \
        | grep -q "Verify return code: 0" || fail "TLS handshake on $a"
done
log "NameServer and broker ports: TLS handshake verified (permissive mode)"

# --- bad input ------------------------------------------------------------------
echo | timeout 10 openssl s_client -connect "$ROKKA_KAFKA" >/dev/null 2>&1 || true
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 bash -c "cat > /dev/tcp/${SSL_ADDR%:*}/${SSL_ADDR#*:}" 2>/dev/null || true
"$VENV/bin/python" "$HERE/bad_sasl.py" "$SASL_ADDR" || fail "bad SASL input"
metrics="$(curl -s "http://$ROKKA_HTTP/metrics")"
grep -q 'rokka_tls_handshake_failures_total{listener="kafka",reason="tls_on_plain_port"} [1-9]' <<<"$metrics" \
    || fail "no metric for a TLS hello on the plain port"
grep -q 'rokka_tls_handshake_failures_total{listener="kafka_ssl",reason="plain_on_tls_port"} [1-9]' <<<"$metrics" \
    || fail "no metric for plain bytes on the TLS port"
grep -q 'rokka_authentications_total{listener="kafka_sasl_plaintext",mechanism="PLAIN",result="failure"} [1-9]' <<<"$metrics" \
    || fail "no authentication failure metric"
grep -q "TLS refused" "$ROKKA_LOG" || fail "no log line for TLS refusals"
grep -q "SASL authentication failed" "$ROKKA_LOG" || fail "no log line for SASL failures"
grep -q "alice-secret\|admin-secret" "$ROKKA_LOG" && fail "a password reached the log"
kill -0 "$ROKKA_PID" || fail "rokka died"
log "bad input: closed, counted and logged; no secret in the log"

# --- ACLs: the same data directory restarted with the authorizer on -------------
rokka_stop
cat >>"$W/broker.conf" <<CONF
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
CONF
rokka_start "$W" --config "$W/broker.conf"
timeout 60 "$VENV/bin/python" "$HERE/acls.py" "$(port_of SASL_PLAINTEXT)" "$(port_of SSL)" \
    "$W/ca.pem" "$W/client.pem" "$W/client.key" || fail "ACL scenarios"
grep -q 'rokka_authorization_denials_total{protocol="kafka",resource_type="topic"} [1-9]' \
    <<<"$(curl -s "http://$ROKKA_HTTP/metrics")" || fail "no topic denial metric"
rokka_stop

# --- RocketMQ ACL 1.0 (its own rokka) --------------------------------------------
"$HERE/rocketmq_acl.sh" || fail "RocketMQ ACL scenarios"

# --- TLS and RocketMQ ACL on the gRPC port (its own rokka) ------------------------
"$HERE/grpc_acl.sh" || fail "gRPC TLS and ACL scenarios"
log "PASS"
