"""Kafka steps of the groups suite's scale-out phase (ADR 024, add-queues and
drain), with confluent-kafka:

  spread BOOTSTRAP TOPIC PARTITIONS LEADERS N
      waits (30 s) until Metadata gives TOPIC PARTITIONS partitions whose
      leaders are LEADERS (comma-separated, one per partition); produces N
      records (idempotent, acks=all) round-robin over every partition; reads
      them back with a new consumer group from the beginning and commits;
      exits non-zero unless every record was acknowledged and read once at
      its partition, and the commit of every partition was accepted
  drained BOOTSTRAP TOPIC DRAINED OPEN
      one record to partition DRAINED must fail with POLICY_VIOLATION and
      one to partition OPEN must be acknowledged
"""
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def wait_leaders(bootstrap, topic, want):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.time() + 30
    got = None
    while time.time() < deadline:
        tm = admin.list_topics(topic, timeout=10).topics.get(topic)
        if tm is not None and tm.error is None:
            got = [tm.partitions[p].leader for p in sorted(tm.partitions)]
            if got == want:
                return
        time.sleep(0.5)
    fail(f"{topic}: leaders {got}, expected {want}")


def produce(bootstrap, records, idempotent=True):
    """records: [(partition, value)]; returns {value: error or None}."""
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": idempotent,
                  "acks": "all", "message.timeout.ms": 30000})
    out = {}

    def done(err, msg):
        out[msg.value().decode()] = err

    for part, value in records:
        p.produce(topic, value=value.encode(), partition=part, on_delivery=done)
        p.poll(0)
    p.flush(40)
    return out


def spread(bootstrap, partitions, leaders, n):
    want = [int(x) for x in leaders.split(",")]
    if len(want) != partitions:
        fail(f"{len(want)} leaders given for {partitions} partitions")
    wait_leaders(bootstrap, topic, want)
    tag = uuid.uuid4().hex[:8]
    records = [(i % partitions, f"spread-{tag}-{i}") for i in range(n)]
    acked = produce(bootstrap, records)
    bad = {v: e for v, e in acked.items() if e is not None}
    if len(acked) != n or bad:
        fail(f"{n - len(acked)} not reported, {len(bad)} failed, e.g. {list(bad.items())[:3]}")
    where = dict((v, p) for p, v in records)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"groups-spread-{tag}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p) for p in range(partitions)])
    seen, misplaced = {}, []
    deadline = time.time() + 60
    while len(seen) < n and time.time() < deadline:
        for m in c.consume(500, timeout=1):
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    fail(f"consume: {m.error()}")
                continue
            v = m.value().decode()
            if v in where:
                seen[v] = seen.get(v, 0) + 1
                if m.partition() != where[v]:
                    misplaced.append((v, m.partition()))
    if len(seen) < n or misplaced or any(k > 1 for k in seen.values()):
        fail(f"read {len(seen)} of {n}; misplaced {misplaced[:3]}; "
             f"twice {[v for v, k in seen.items() if k > 1][:3]}")
    committed = c.commit(asynchronous=False)
    errors = [tp for tp in committed if tp.error is not None]
    positions = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    c.close()
    if errors or any(tp.offset < 0 for tp in positions):
        fail(f"commit: errors {errors}, committed {positions}")
    per = [sum(1 for p, _ in records if p == q) for q in range(partitions)]
    print(f"spread: {n} records over {partitions} partitions {per}, all acknowledged, "
          f"read once at their partition, offsets committed")


def drained(bootstrap, part, open_part):
    tag = uuid.uuid4().hex[:8]
    # Not idempotent: a refused batch would otherwise fence the producer.
    out = produce(bootstrap, [(part, f"drained-{tag}"), (open_part, f"open-{tag}")], idempotent=False)
    refused, taken = out.get(f"drained-{tag}"), out.get(f"open-{tag}", "missing")
    if refused is None or refused.code() != KafkaError.POLICY_VIOLATION:
        fail(f"partition {part}: expected POLICY_VIOLATION, got {refused}")
    if taken is not None:
        fail(f"partition {open_part}: {taken}")
    print(f"drained: partition {part} refused ({refused.name()}), partition {open_part} acknowledged")


mode, bootstrap, topic = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "spread":
    spread(bootstrap, int(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
elif mode == "drained":
    drained(bootstrap, int(sys.argv[4]), int(sys.argv[5]))
else:
    fail(f"unknown mode {mode}")
