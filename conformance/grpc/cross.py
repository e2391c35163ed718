"""Cross-ecosystem scenarios between the RocketMQ 5.x Python SDK (gRPC) and
confluent-kafka (Kafka protocol) on one rokka, by docs/mapping.md:

- Kafka -> SDK: records written by confluent-kafka (key "ck-N alt-N",
  headers TAGS, region, idx) are received by a SimpleConsumer subscribed to
  one tag: only that tag's records arrive, with body = value, keys = the
  key's words, tag = the TAGS header, properties = the other headers; acked
  ones do not come back.
- SDK -> Kafka: messages sent by the SDK producer (tag, keys, a property)
  are read by a confluent-kafka consumer with value = body, key = keys,
  headers TAGS, the property, and UNIQ_KEY = the send receipt's message id.

Usage: cross.py GRPC_HOST:PORT KAFKA_HOST:PORT. Prints one line per check
and a closing "N passed, N failed" line; exits 1 on a failure.
"""

import sys
import time

from confluent_kafka import Consumer, Producer as KProducer
from confluent_kafka.admin import AdminClient, NewTopic

from rocketmq import (ClientConfiguration, Credentials, FilterExpression,
                      Message, Producer, SimpleConsumer)

GRPC, KAFKA = sys.argv[1], sys.argv[2]
RUN = str(int(time.time()))
N = 20
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}", flush=True)


def config():
    return ClientConfiguration(GRPC, Credentials(), request_timeout=10)


def kafka_to_sdk():
    topic = f"xk{RUN}"
    admin = AdminClient({"bootstrap.servers": KAFKA})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(10)
    c = SimpleConsumer(config(), f"gXk{RUN}", {topic: FilterExpression("TagK")}, await_duration=1)
    c.startup()
    try:
        # The group's position exists before the records do, whatever the
        # broker's start offset for a new group is.
        end = time.time() + 3
        while time.time() < end:
            c.receive(16, 10)
        p = KProducer({"bootstrap.servers": KAFKA, "linger.ms": 0})
        for i in range(N):
            tag = "TagK" if i % 2 == 0 else "TagOther"
            p.produce(topic, key=f"ck-{i} alt-{i}".encode(), value=f"kafka-{i}".encode(),
                      partition=i % 2,
                      headers=[("TAGS", tag.encode()), ("region", b"eu"), ("idx", str(i).encode())])
        check("kafka producer: all records acknowledged", p.flush(10) == 0)
        got, end = [], time.time() + 20
        while len(got) < N // 2 and time.time() < end:
            got.extend(c.receive(16, 20) or [])
        bodies = sorted(m.body.decode() for m in got)
        want = sorted(f"kafka-{i}" for i in range(0, N, 2))
        check("sdk receives exactly the TagK records written by Kafka", bodies == want, bodies)
        bad = []
        for m in got:
            i = int(m.body.decode().split("-")[1])
            props = m.properties or {}
            if sorted(m.keys or []) != sorted([f"ck-{i}", f"alt-{i}"]):
                bad.append(("keys", i, m.keys))
            if m.tag != "TagK":
                bad.append(("tag", i, m.tag))
            if props.get("region") != "eu" or props.get("idx") != str(i):
                bad.append(("properties", i, props))
        check("keys, tag and headers arrive as keys, tag and properties", not bad, bad[:3])
        for m in got:
            c.ack(m)
        again, end = [], time.time() + 3
        while time.time() < end:
            again.extend(c.receive(16, 20) or [])
        check("acked records are not delivered again", not again,
              [m.body for m in again][:3])
    finally:
        c.shutdown()


def sdk_to_kafka():
    topic = f"xr{RUN}"
    p = Producer(config(), (topic,))
    p.startup()
    ids = {}
    try:
        for i in range(10):
            m = Message()
            m.topic = topic
            m.body = f"grpc-{i}".encode()
            m.tag = "TagR"
            m.keys = f"rk-{i}"
            m.add_property("region", "us")
            ids[f"grpc-{i}"] = p.send(m).message_id
    finally:
        p.shutdown()
    c = Consumer({"bootstrap.servers": KAFKA, "group.id": f"kx{RUN}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    got, end = {}, time.time() + 20
    while len(got) < 10 and time.time() < end:
        r = c.poll(0.5)
        if r is None or r.error():
            continue
        got[r.value().decode()] = r
    c.close()
    check("kafka consumer reads every message the sdk sent", sorted(got) == sorted(ids),
          sorted(got))
    bad = []
    for body, r in got.items():
        i = body.split("-")[1]
        h = {k: v.decode() for k, v in (r.headers() or [])}
        if r.key() != f"rk-{i}".encode():
            bad.append(("key", body, r.key()))
        if h.get("TAGS") != "TagR" or h.get("region") != "us":
            bad.append(("headers", body, h))
        if h.get("UNIQ_KEY") != ids.get(body):
            bad.append(("UNIQ_KEY", body, h.get("UNIQ_KEY"), ids.get(body)))
    check("keys, tag, property and message id arrive as key and headers", not bad, bad[:3])


def main():
    for scenario in (kafka_to_sdk, sdk_to_kafka):
        try:
            scenario()
        except Exception as e:  # a client error is a failed check, not a crash
            check(f"{scenario.__name__} ran", False, repr(e))
    print(f"{results['passed']} passed, {results['failed']} failed", flush=True)
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
