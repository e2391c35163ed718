"""SCRAM credentials via AlterUserScramCredentials (confluent-kafka), then
SCRAM-SHA-256/512 and PLAIN with confluent-kafka and kafka-python: the
right password works, a wrong one fails with an authentication error."""
import sys

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import (AdminClient, ScramCredentialInfo, ScramMechanism,
                                   UserScramCredentialUpsertion)
import kafka

plain_addr, sasl_addr = sys.argv[1], sys.argv[2]
admin = AdminClient({"bootstrap.servers": plain_addr})
ups = [UserScramCredentialUpsertion("bob", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192), b"bob-secret"),
       UserScramCredentialUpsertion("bob", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"bob-secret")]
for f in admin.alter_user_scram_credentials(ups).values():
    f.result()
desc = admin.describe_user_scram_credentials(["bob"])["bob"].result()
mechs = sorted((i.mechanism, i.iterations) for i in desc.scram_credential_infos)
assert mechs == [(ScramMechanism.SCRAM_SHA_256, 8192), (ScramMechanism.SCRAM_SHA_512, 4096)], mechs
try:
    admin.describe_user_scram_credentials(["nobody"])["nobody"].result()
    raise SystemExit("describe of an unknown user succeeded")
except KafkaException as e:
    assert e.args[0].code() == 91, e  # RESOURCE_NOT_FOUND


def confluent(mech, user, password):
    errors, delivered = [], []
    p = Producer({"bootstrap.servers": sasl_addr, "security.protocol": "SASL_PLAINTEXT",
                  "sasl.mechanisms": mech, "sasl.username": user, "sasl.password": password,
                  "error_cb": errors.append, "message.timeout.ms": 4000, "log_level": 0})
    p.produce("sec-scram", b"x", on_delivery=lambda err, _m: delivered.append(err is None))
    p.flush(6)
    return delivered == [True], errors


for mech in ["SCRAM-SHA-256", "SCRAM-SHA-512"]:
    ok, errs = confluent(mech, "bob", "bob-secret")
    assert ok and not errs, (mech, errs[:2])
    ok, errs = confluent(mech, "bob", "nope")
    assert not ok and any(e.code() == -169 for e in errs), (mech, errs[:2])  # _AUTHENTICATION
print("[security-conformance] confluent-kafka: SCRAM-SHA-256/512 right and wrong password", flush=True)


def kp(mech, user, password):
    try:
        p = kafka.KafkaProducer(bootstrap_servers=sasl_addr, security_protocol="SASL_PLAINTEXT",
                                sasl_mechanism=mech, sasl_plain_username=user,
                                sasl_plain_password=password, request_timeout_ms=5000,
                                max_block_ms=5000)
        p.send("sec-kp", b"y").get(timeout=10)
        p.close()
        return True
    except Exception as e:  # noqa: BLE001 - any client error is a refusal here
        return f"{type(e).__name__}: {e}"


r = kp("PLAIN", "alice", "alice-secret")
assert r is True, r
assert kp("SCRAM-SHA-512", "bob", "bob-secret") is True
assert kp("PLAIN", "alice", "wrong") is not True
assert kp("SCRAM-SHA-256", "bob", "wrong") is not True
print("[security-conformance] kafka-python: PLAIN and SCRAM, wrong passwords refused", flush=True)
