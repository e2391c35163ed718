"""Transaction throughput against one rokka, in one run (BENCHMARKS.md):
idempotent produce of N records (before and after the transactional runs),
transactional produce of N records in transactions of 100 and of 1,000
records, each producer warmed up first; then a read_uncommitted and a
read_committed consumer of the transactional topic. Prints records/s and the
ratios. usage: bench.py BOOT N"""

import sys
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

boot, n = sys.argv[1], int(sys.argv[2])
VALUE = b"v" * 100
admin = AdminClient({"bootstrap.servers": boot})
topics = ["bench-idem", "bench-txn-100", "bench-txn-1000"]
for f in admin.create_topics([NewTopic(t, 1, 1) for t in topics]).values():
    f.result(15)


def idempotent():
    p = Producer({"bootstrap.servers": boot, "enable.idempotence": True, "linger.ms": 5})
    # Warm-up (connection, producer id, topic metadata), not timed.
    p.produce("bench-idem", value=VALUE, partition=0)
    p.flush(30)
    t0 = time.perf_counter()
    for i in range(n):
        while True:
            try:
                p.produce("bench-idem", value=VALUE, partition=0)
                break
            except BufferError:
                p.poll(0.01)
    p.flush(120)
    return n / (time.perf_counter() - t0)


def transactional(size):
    p = Producer({"bootstrap.servers": boot, "transactional.id": f"bench-{size}", "linger.ms": 5})
    p.init_transactions(30)
    # Warm-up transaction (metadata, coordinator), not timed.
    p.begin_transaction()
    p.produce(f"bench-txn-{size}", value=VALUE, partition=0)
    p.commit_transaction(30)
    t0 = time.perf_counter()
    for _ in range(n // size):
        p.begin_transaction()
        for _ in range(size):
            while True:
                try:
                    p.produce(f"bench-txn-{size}", value=VALUE, partition=0)
                    break
                except BufferError:
                    p.poll(0.01)
        p.commit_transaction(60)
    return (n // size * size) / (time.perf_counter() - t0)


def consume(topic, isolation, want):
    c = Consumer({"bootstrap.servers": boot, "group.id": uuid.uuid4().hex,
                  "isolation.level": isolation, "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got, t0 = 0, time.perf_counter()
    deadline = time.time() + 300
    while got < want and time.time() < deadline:
        for m in c.consume(1000, 1.0):
            if not m.error():
                got += 1
    took = time.perf_counter() - t0
    c.close()
    return got / took


idem = idempotent()
t100 = transactional(100)
t1000 = transactional(1000)
idem2 = idempotent()
idem = (idem + idem2) / 2
# The transactional topic: n records, a COMMIT marker after every 100, plus
# the warm-up transaction. Each reader is timed twice, alternating.
want = n + 1
ru = consume("bench-txn-100", "read_uncommitted", want)
rc = consume("bench-txn-100", "read_committed", want)
ru = (ru + consume("bench-txn-100", "read_uncommitted", want)) / 2
rc = (rc + consume("bench-txn-100", "read_committed", want)) / 2
print(f"records={n} value=100B partition=1")
print(f"idempotent produce        {idem:10.0f} rec/s  (mean of a run before and after)")
print(f"transactional, 100/txn    {t100:10.0f} rec/s  ratio {t100 / idem:.2f}")
print(f"transactional, 1000/txn   {t1000:10.0f} rec/s  ratio {t1000 / idem:.2f}")
print(f"fetch read_uncommitted    {ru:10.0f} rec/s")
print(f"fetch read_committed      {rc:10.0f} rec/s  ratio {rc / ru:.2f}")
