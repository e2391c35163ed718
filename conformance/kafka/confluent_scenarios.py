"""confluent-kafka (bundled librdkafka) scenarios against rokka (run by run.sh).

1. Idempotent producer, lz4, keys + two headers per record, acks=all.
2. Consumer group of two members: the second joins, the group rebalances,
   the members split the partitions; synchronous commits; together they see
   every record, in order within each partition.
3. A new member of the same group resumes from the commits (exactly the
   records produced afterwards).
4. offsets_for_times finds the first offset stored at or after a time.
5. AdminClient: create/delete topics, create partitions, list/describe
   groups, describe configs, describe cluster.
"""
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

ADDR = sys.argv[1]
TOPIC = "ck-topic"
GROUP = "ck-group"


def fail(msg):
    print(f"[confluent-kafka] FAIL: {msg}")
    sys.exit(1)


def produce(start, count):
    errors = []
    p = Producer({
        "bootstrap.servers": ADDR,
        "enable.idempotence": True,
        "compression.type": "lz4",
        "linger.ms": 5,
        "acks": "all",
    })

    def done(err, _msg):
        if err is not None:
            errors.append(err)

    for i in range(start, start + count):
        p.produce(TOPIC, key=b"k%d" % i, value=b"v%d" % i,
                  headers=[("i", b"%d" % i), ("src", b"ck")], on_delivery=done)
        p.poll(0)
    if p.flush(30) != 0:
        fail("producer did not flush")
    if errors:
        fail(f"delivery errors: {errors[:3]}")


def consumer(name):
    return Consumer({
        "bootstrap.servers": ADDR,
        "group.id": GROUP,
        "client.id": name,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 500,
    })


def check(m):
    if m.error():
        fail(f"consume error {m.error()}")
    i = int(m.key()[1:])
    if m.value() != b"v%d" % i:
        fail(f"value {m.value()!r} for {m.key()!r}")
    if m.headers() != [("i", b"%d" % i), ("src", b"ck")]:
        fail(f"headers {m.headers()!r}")
    return (m.partition(), m.offset(), i)


def order_ok(seen):
    parts = {}
    for p, o, i in seen:
        parts.setdefault(p, []).append((o, i))
    for p, items in parts.items():
        idx = [i for _, i in sorted(items)]
        if idx != sorted(idx):
            fail(f"partition {p} out of order")


N = 200
produce(0, N)
print(f"[confluent-kafka] produced {N} records (idempotent, lz4, acks=all)")

c1 = consumer("c1")
c1.subscribe([TOPIC])
seen = []
end = time.time() + 30
while time.time() < end and len(seen) < N // 4:
    m = c1.poll(0.2)
    if m is not None:
        seen.append(check(m))
c1.commit(asynchronous=False)
c2 = consumer("c2")
c2.subscribe([TOPIC])
end = time.time() + 45
while time.time() < end:
    for c in (c1, c2):
        m = c.poll(0.1)
        if m is not None:
            seen.append(check(m))
            try:
                c.commit(message=m, asynchronous=False)
            except KafkaException:
                pass  # a rebalance is under way; redelivery is allowed
    a1 = {tp.partition for tp in c1.assignment()}
    a2 = {tp.partition for tp in c2.assignment()}
    if {i for _, _, i in seen} == set(range(N)) and a1 and a2:
        break
a1 = {tp.partition for tp in c1.assignment()}
a2 = {tp.partition for tp in c2.assignment()}
if not a1 or not a2 or a1 & a2:
    fail(f"members should split the partitions: {a1} {a2}")
got = {i for _, _, i in seen}
if got != set(range(N)):
    fail(f"group saw {len(got)} distinct of {N}")
order_ok(seen)
c1.close()
c2.close()
print(f"[confluent-kafka] two members split partitions {sorted(a1)} / {sorted(a2)}, saw all {N}")

mark = int(time.time() * 1000)
time.sleep(0.05)
produce(N, 20)
c3 = consumer("c3")
c3.subscribe([TOPIC])
later = []
end = time.time() + 30
while time.time() < end and len(later) < 20:
    m = c3.poll(0.2)
    if m is not None:
        later.append(check(m))
end = time.time() + 1.5
while time.time() < end:
    m = c3.poll(0.2)
    if m is not None:
        later.append(check(m))
idx = sorted(i for _, _, i in later)
if idx != list(range(N, N + 20)):
    fail(f"resume saw {idx[:10]}... ({len(idx)}), expected {N}..{N + 19}")
print("[confluent-kafka] new member resumed from commits: exactly the 20 new records")

parts = [TopicPartition(TOPIC, tp.partition, mark) for tp in c3.assignment()]
found = c3.offsets_for_times(parts, timeout=10)
total = 0
for tp in found:
    if tp.error:
        fail(f"offsets_for_times error {tp.error}")
    hw = c3.get_watermark_offsets(TopicPartition(TOPIC, tp.partition), timeout=10)[1]
    if tp.offset >= 0:
        total += hw - tp.offset
if total != 20:
    fail(f"offsets_for_times: {total} records after the mark, expected 20")
c3.close()
print("[confluent-kafka] offsets_for_times ok")

# 5. AdminClient: create and delete topics, list and describe groups.
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

admin = AdminClient({"bootstrap.servers": ADDR})
for t, f in admin.create_topics([NewTopic("ck-admin", num_partitions=3, replication_factor=1)]).items():
    f.result(timeout=10)
md = admin.list_topics(timeout=10)
if len(md.topics["ck-admin"].partitions) != 3:
    fail("created topic does not have 3 partitions")
dup = admin.create_topics([NewTopic("ck-admin", num_partitions=3, replication_factor=1)])["ck-admin"]
try:
    dup.result(timeout=10)
    fail("creating an existing topic succeeded")
except KafkaException as e:
    if e.args[0].code() != 36:  # TOPIC_ALREADY_EXISTS
        fail(f"duplicate create: {e}")
from confluent_kafka.admin import NewPartitions  # noqa: E402

for t, f in admin.create_partitions([NewPartitions("ck-admin", 5)]).items():
    f.result(timeout=10)
if len(admin.list_topics(timeout=10).topics["ck-admin"].partitions) != 5:
    fail("create_partitions did not grow the topic to 5")
groups = {g.group_id for g in admin.list_consumer_groups().result(timeout=10).valid}
if GROUP not in groups:
    fail(f"list_consumer_groups misses {GROUP}: {groups}")
desc = admin.describe_consumer_groups([GROUP])[GROUP].result(timeout=10)
if desc.group_id != GROUP:
    fail(f"describe_consumer_groups: {desc}")
from confluent_kafka.admin import ConfigResource  # noqa: E402

for res, f in admin.describe_configs([ConfigResource("topic", "ck-admin"), ConfigResource("broker", "0")]).items():
    cfg = f.result(timeout=10)
    for key in ("max.message.bytes", "retention.ms") if res.restype == ConfigResource.Type.TOPIC else ("broker.id", "num.partitions"):
        if key not in cfg or not cfg[key].value:
            fail(f"describe_configs {res}: no {key}")
cluster = admin.describe_cluster().result(timeout=10)
if cluster.controller is None or cluster.controller.id != 0 or len(cluster.nodes) != 1 or not cluster.cluster_id:
    fail(f"describe_cluster: {cluster.cluster_id} {cluster.controller} {cluster.nodes}")
for t, f in admin.delete_topics(["ck-admin"]).items():
    f.result(timeout=10)
if "ck-admin" in admin.list_topics(timeout=10).topics:
    fail("deleted topic still listed")
print("[confluent-kafka] AdminClient create/delete topics, create_partitions, list/describe groups, describe_configs, describe_cluster ok")

# 6. AdminClient.delete_records: the low watermark moves up and the records
# below it are gone for a fresh consumer.

DR = "ck-delete-records"
for t, f in admin.create_topics([NewTopic(DR, num_partitions=1)]).items():
    f.result(timeout=10)
p = Producer({"bootstrap.servers": ADDR, "linger.ms": 0})
for i in range(10):
    p.produce(DR, key=b"d%d" % i, value=b"x")
    p.flush(10)  # one batch per record, so the cut lands between batches
res = admin.delete_records([TopicPartition(DR, 0, 6)])
for tp, f in res.items():
    done = f.result(timeout=10)
    if done.low_watermark != 6:
        fail(f"delete_records low watermark {done.low_watermark}, expected 6")
c = Consumer({"bootstrap.servers": ADDR, "group.id": "ck-dr", "auto.offset.reset": "earliest"})
low, high = c.get_watermark_offsets(TopicPartition(DR, 0), timeout=10)
if (low, high) != (6, 10):
    fail(f"watermarks after delete_records: {(low, high)}")
c.assign([TopicPartition(DR, 0, 0)])  # below the low watermark: reset to earliest
keys = []
deadline = time.time() + 20
while len(keys) < 4 and time.time() < deadline:
    m = c.poll(1.0)
    if m is not None and m.error() is None and m.offset() >= 6:
        keys.append(m.key())
c.close()
if keys != [b"d6", b"d7", b"d8", b"d9"]:
    fail(f"after delete_records a consumer read {keys}")
print("[confluent-kafka] AdminClient delete_records ok")
