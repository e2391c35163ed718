"""confluent-kafka (PyPI, bundled librdkafka) side of the cross-protocol data
scenarios, run by data.sh.

  confluent.py consume ADDR TOPIC OUT
      reads every partition from the beginning to its high watermark and
      writes the canonical JSON lines of check.py.
  confluent.py produce ADDR TOPIC CODEC COUNT OUT
      creates TOPIC with 4 partitions if needed, produces COUNT records with
      compression CODEC (lingering, so batches hold many records) and writes
      the manifest: partition, offset and timestamp from the delivery reports.

Records follow records.py. Every wait is bounded.
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import records


def fail(msg):
    print(f"FAIL confluent-kafka: {msg}")
    sys.exit(1)


def consume(addr, topic, out):
    c = Consumer({
        "bootstrap.servers": addr,
        "group.id": "cross-confluent-reader",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    md = c.list_topics(topic, timeout=10)
    parts = sorted(md.topics[topic].partitions)
    high = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    got, done = [], {p for p in parts if high[p] == 0}
    deadline = time.time() + 90
    while len(done) < len(parts) and time.time() < deadline:
        for m in c.consume(500, timeout=1.0):
            if m.error():
                fail(f"consume error {m.error()}")
            got.append({
                "partition": m.partition(), "offset": m.offset(),
                "key_hex": None if m.key() is None else m.key().hex(),
                "value_hex": None if m.value() is None else m.value().hex(),
                "ts": m.timestamp()[1],
                "headers": [[n.encode().hex(), None if v is None else v.hex()]
                            for n, v in (m.headers() or [])],
            })
            if m.offset() + 1 >= high[m.partition()]:
                done.add(m.partition())
    c.close()
    if len(done) < len(parts):
        fail(f"reached the end of {sorted(done)} of partitions {parts} within 90 s")
    with open(out, "w", encoding="utf-8") as f:
        for r in got:
            f.write(json.dumps(r) + "\n")


def produce(addr, topic, codec, count, out):
    admin = AdminClient({"bootstrap.servers": addr})
    fs = admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)],
                             operation_timeout=10)
    for f in fs.values():
        try:
            f.result(timeout=15)
        except Exception as e:  # already created by another producer
            if "TOPIC_ALREADY_EXISTS" not in str(e):
                fail(f"create topic: {e}")
    p = Producer({
        "bootstrap.servers": addr,
        "compression.type": codec,
        "linger.ms": 50,
        "batch.num.messages": 64,
        "acks": "all",
    })
    name = f"ck-{codec}"
    manifest, errors = [], []

    def done(err, msg, rec):
        if err is not None:
            errors.append(err)
            return
        rec["partition"], rec["offset"], rec["ts"] = msg.partition(), msg.offset(), msg.timestamp()[1]
        manifest.append(rec)

    for i in range(count):
        rec = records.record(name, i, count)
        hdrs = [(bytes.fromhex(n).decode(), unhex(v)) for n, v in rec["headers"]]
        p.produce(topic, key=unhex(rec["key_hex"]), value=unhex(rec["value_hex"]),
                  partition=rec["partition"], headers=hdrs,
                  on_delivery=lambda err, msg, rec=rec: done(err, msg, rec))
        p.poll(0)
    if p.flush(30) != 0:
        fail("producer did not flush within 30 s")
    if errors or len(manifest) != count:
        fail(f"{len(manifest)} of {count} delivered, errors {errors[:3]}")
    with open(out, "w", encoding="utf-8") as f:
        for r in manifest:
            f.write(json.dumps(r) + "\n")


def unhex(h):
    return None if h is None else bytes.fromhex(h)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "consume":
        consume(*sys.argv[2:5])
    elif cmd == "produce":
        produce(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
    else:
        sys.exit(f"unknown command {cmd}")
