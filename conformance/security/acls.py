"""Kafka ACLs with confluent-kafka's AdminClient against a rokka whose
authorizer is on (super user admin, allow.everyone.if.no.acl.found=false):
admin creates ACLs for alice, DescribeAcls lists them, alice may produce to
her topic, gets TOPIC_AUTHORIZATION_FAILED (29) writing a topic she may only
describe and creating a topic; a group, a transactional id, DescribeConfigs
and ListOffsets not granted are refused with Kafka's codes (30, 53, 29);
DeleteAcls removes the bindings and alice is refused on her topic afterwards."""
import sys

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation,
                                   AclPermissionType, AdminClient, ConfigResource,
                                   NewTopic, OffsetSpec, ResourcePatternType,
                                   ResourceType)

addr = sys.argv[1]
# The mutual-TLS listener and the client certificate (subject CN=alice).
ssl_addr, ca, cert, key = sys.argv[2:6]


def conf(user):
    return {"bootstrap.servers": addr, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "PLAIN", "sasl.username": user,
            "sasl.password": f"{user}-secret", "log_level": 0}


def say(msg):
    print(f"[security-conformance] {msg}", flush=True)


admin = AdminClient(conf("admin"))
alice = AdminClient(conf("alice"))
for f in admin.create_topics([NewTopic("acl-alice", 1), NewTopic("acl-other", 1),
                              NewTopic("acl-hidden", 1)],
                             operation_timeout=10).values():
    f.result()

ALLOW, LIT, PRE = AclPermissionType.ALLOW, ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
bindings = [
    AclBinding(ResourceType.TOPIC, "acl-al", PRE, "User:alice", "*", AclOperation.WRITE, ALLOW),
    AclBinding(ResourceType.TOPIC, "acl-al", PRE, "User:alice", "*", AclOperation.READ, ALLOW),
    AclBinding(ResourceType.TOPIC, "acl-other", LIT, "User:alice", "*", AclOperation.DESCRIBE, ALLOW),
    AclBinding(ResourceType.GROUP, "acl-g", LIT, "User:alice", "*", AclOperation.READ, ALLOW),
]
for f in admin.create_acls(bindings).values():
    f.result()
# A non-super user may not manage ACLs: CLUSTER_AUTHORIZATION_FAILED (31).
try:
    alice.create_acls([bindings[0]])[bindings[0]].result()
    raise SystemExit("alice created an ACL")
except KafkaException as e:
    assert e.args[0].code() == 31, e

mine = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, "User:alice", None,
                        AclOperation.ANY, AclPermissionType.ANY)
found = admin.describe_acls(mine).result()
assert sorted(b.name for b in found) == ["acl-al", "acl-al", "acl-g", "acl-other"], found
say("confluent-kafka: CreateAcls by the super user, refused (31) for alice; DescribeAcls lists 4")


def produce(topic):
    """The delivery error code (0 = delivered)."""
    out, p = [], Producer({**conf("alice"), "message.timeout.ms": 5000})
    p.produce(topic, b"v", on_delivery=lambda err, _m: out.append(err.code() if err else 0))
    p.flush(8)
    return out[0] if out else "no delivery report"


assert produce("acl-alice") == 0
code = produce("acl-other")
assert code == 29, code  # TOPIC_AUTHORIZATION_FAILED from Produce
try:
    alice.create_topics([NewTopic("acl-new", 1)], operation_timeout=10)["acl-new"].result()
    raise SystemExit("alice created a topic")
except KafkaException as e:
    assert e.args[0].code() == 29, e


def consume(topic):
    """The first record's value, or the first error code (bounded)."""
    c = Consumer({**conf("alice"), "group.id": "acl-g", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    try:
        for _ in range(20):
            m = c.poll(0.5)
            if m is not None:
                return m.error().code() if m.error() else m.value()
        return "nothing"
    finally:
        c.close()


got = consume("acl-alice")
assert got == b"v", got
got = consume("acl-other")
assert got == 29, got  # TOPIC_AUTHORIZATION_FAILED from Fetch
try:
    alice.delete_topics(["acl-other"], operation_timeout=10)["acl-other"].result()
    raise SystemExit("alice deleted a topic")
except KafkaException as e:
    assert e.args[0].code() == 29, e
say("alice: produce/consume her prefixed topic ok; Write, Read, CreateTopics, DeleteTopics denied (29)")



def code_of(fn):
    """The Kafka error code `fn` raises (0 if it does not)."""
    try:
        fn()
        return 0
    except KafkaException as e:
        return e.args[0].code()


# Group not granted: JoinGroup/FindCoordinator refused with GROUP_AUTHORIZATION_FAILED (30).
c = Consumer({**conf("alice"), "group.id": "acl-denied-g", "enable.auto.commit": False})
c.subscribe(["acl-alice"])
got = "nothing"
for _ in range(20):
    m = c.poll(0.5)
    if m is not None and m.error():
        got = m.error().code()
        break
c.close()
assert got == 30, got
# Transactional id not granted: TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53).
tx = Producer({**conf("alice"), "transactional.id": "acl-tx"})
got = code_of(lambda: tx.init_transactions(10))
assert got == 53, got
# DescribeConfigs needs DescribeConfigs (alice may only Describe acl-other): 29.
got = code_of(lambda: alice.describe_configs([ConfigResource(ResourceType.TOPIC, "acl-other")])[
    ConfigResource(ResourceType.TOPIC, "acl-other")].result())
assert got == 29, got
# ListOffsets needs Describe: allowed on acl-other, refused (29) on admin's acl-hidden.
tp = TopicPartition("acl-other", 0)
assert code_of(lambda: alice.list_offsets({tp: OffsetSpec.latest()})[tp].result()) == 0
# (librdkafka looks the leader up with Metadata first, which already refuses
# the topic, so the request never reaches ListOffsets: any error will do.)
tp = TopicPartition("acl-hidden", 0)
got = code_of(lambda: alice.list_offsets({tp: OffsetSpec.latest()})[tp].result())
assert got != 0, got
say("alice: group join (30), transactional id (53), DescribeConfigs (29) refused; "
    "ListOffsets allowed with Describe, refused without")

# Mutual TLS: the principal is the certificate's subject in Kafka's format.
MTLS = "User:CN=alice"
mtls_binding = AclBinding(ResourceType.TOPIC, "acl-mtls", LIT, MTLS, "*", AclOperation.WRITE, ALLOW)
for f in admin.create_acls([mtls_binding]).values():
    f.result()


def produce_mtls(topic):
    out, p = [], Producer({"bootstrap.servers": ssl_addr, "security.protocol": "SSL",
                           "ssl.ca.location": ca, "ssl.certificate.location": cert,
                           "ssl.key.location": key, "message.timeout.ms": 5000, "log_level": 0})
    p.produce(topic, b"m", on_delivery=lambda err, _m: out.append(err.code() if err else 0))
    p.flush(8)
    return out[0] if out else "no delivery report"


for f in admin.create_topics([NewTopic("acl-mtls", 1)], operation_timeout=10).values():
    f.result()
assert produce_mtls("acl-mtls") == 0
code = produce_mtls("acl-other")
assert code == 29, code
mtls_filter = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, MTLS, None,
                               AclOperation.ANY, AclPermissionType.ANY)
admin.delete_acls([mtls_filter])[mtls_filter].result()
say(f"mutual TLS: {MTLS} may write acl-mtls, refused (29) on acl-other")

deleted = admin.delete_acls([mine])[mine].result()
assert sorted(b.name for b in deleted) == ["acl-al", "acl-al", "acl-g", "acl-other"], deleted
assert admin.describe_acls(mine).result() == []
code = produce("acl-alice")
assert code == 29, code
say("confluent-kafka: DeleteAcls removed the 4 bindings; alice is refused afterwards")
