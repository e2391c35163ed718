"""Kafka transaction scenarios for conformance/transactions/run.sh, driven
with confluent-kafka (librdkafka). Each subcommand prints what it checked
and exits non-zero on the first failure. Every wait is bounded.

  basic BOOT          commit, abort, commit; read_committed vs read_uncommitted
  zombie BOOT         a second producer with the same transactional.id fences the first
  timeout BOOT        an open transaction past transaction.timeout.ms is aborted
  ctp-load BOOT N     N input records for the consume-transform-produce app
  ctp-check BOOT N    the output topic holds every input record exactly once
  crash-open BOOT     leaves a transaction open (rokka is then SIGKILLed)
  crash-check BOOT    after the restart: aborted on timeout, LSO not stuck
  rmq-load BOOT       committed and aborted transactions for the RocketMQ reader
  rmq-check DIR       the RocketMQ reader's files: committed records only
"""

import binascii
import json
import os
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def create(boot, topic, partitions):
    admin = AdminClient({"bootstrap.servers": boot})
    fs = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    for f in fs.values():
        try:
            f.result(15)
        except KafkaException as e:
            if "TOPIC_ALREADY_EXISTS" not in str(e):
                raise


def txn_producer(boot, tid, timeout_ms=60000):
    p = Producer({
        "bootstrap.servers": boot,
        "transactional.id": tid,
        "transaction.timeout.ms": timeout_ms,
        "message.timeout.ms": min(timeout_ms, 30000),
    })
    p.init_transactions(20)
    return p


def in_txn(p, topic, values, commit=True, partition=0):
    p.begin_transaction()
    for v in values:
        p.produce(topic, value=v.encode(), partition=partition)
    p.flush(20)
    if commit:
        p.commit_transaction(20)
    else:
        p.abort_transaction(20)


def read_all(boot, topic, isolation, partitions=1, want=None, quiet_s=1.5, limit_s=20):
    """Values of `topic` from the beginning, in partition order, until
    `want` arrived (or, without `want`, nothing came for `quiet_s`)."""
    c = Consumer({
        "bootstrap.servers": boot,
        "group.id": "reader-" + uuid.uuid4().hex,
        "isolation.level": isolation,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out = []
    deadline = time.time() + limit_s
    last = time.time()
    while time.time() < deadline:
        m = c.poll(0.2)
        if m is None:
            if want is None and time.time() - last > quiet_s:
                break
            if want is not None and len(out) >= want and time.time() - last > quiet_s:
                break
            continue
        if m.error():
            continue
        out.append(m.value().decode())
        last = time.time()
    c.close()
    return out


def expect(name, got, want):
    if got != want:
        fail(f"{name}: got {got[:30]}... ({len(got)}), want {want[:30]}... ({len(want)})")
    print(f"ok {name}: {len(got)} records")


def basic(boot):
    topic = "txn-basic"
    create(boot, topic, 1)
    p = txn_producer(boot, "basic")
    committed = [f"c-{i}" for i in range(10)]
    in_txn(p, topic, committed)
    in_txn(p, topic, [f"a-{i}" for i in range(5)], commit=False)
    more = [f"c-{i}" for i in range(10, 15)]
    in_txn(p, topic, more)
    expect("read_committed", read_all(boot, topic, "read_committed", want=15), committed + more)
    expect("read_uncommitted", read_all(boot, topic, "read_uncommitted", want=20),
           committed + [f"a-{i}" for i in range(5)] + more)
    # An open transaction hides its records (and what follows) from
    # read_committed readers until it commits.
    p.begin_transaction()
    p.produce(topic, value=b"pending", partition=0)
    p.flush(20)
    plain = Producer({"bootstrap.servers": boot})
    plain.produce(topic, value=b"plain-after", partition=0)
    plain.flush(20)
    expect("open transaction withheld",
           read_all(boot, topic, "read_committed", quiet_s=1.0), committed + more)
    p.commit_transaction(20)
    expect("visible after commit", read_all(boot, topic, "read_committed", want=17),
           committed + more + ["pending", "plain-after"])


def zombie(boot):
    topic = "txn-zombie"
    create(boot, topic, 1)
    p1 = txn_producer(boot, "zombie")
    p1.begin_transaction()
    for i in range(3):
        p1.produce(topic, value=f"z1-{i}".encode(), partition=0)
    p1.flush(20)
    p2 = txn_producer(boot, "zombie")
    try:
        p1.commit_transaction(20)
        fail("the zombie committed")
    except KafkaException as e:
        err = e.args[0]
        print(f"ok zombie fenced: {err.name()} fatal={err.fatal()}")
        if not err.fatal():
            fail(f"fencing should be fatal for the zombie, got {err}")
    in_txn(p2, topic, [f"z2-{i}" for i in range(3)])
    expect("zombie's records never visible", read_all(boot, topic, "read_committed", want=3),
           [f"z2-{i}" for i in range(3)])


def timeout(boot):
    topic = "txn-timeout"
    create(boot, topic, 1)
    p = txn_producer(boot, "slow", timeout_ms=2000)
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, value=f"s-{i}".encode(), partition=0)
    p.flush(20)
    time.sleep(4)
    try:
        p.commit_transaction(20)
        fail("a transaction past its timeout committed")
    except KafkaException as e:
        print(f"ok commit after the timeout refused: {e.args[0].name()}")
    plain = Producer({"bootstrap.servers": boot})
    plain.produce(topic, value=b"after", partition=0)
    plain.flush(20)
    expect("aborted on timeout, LSO moves on", read_all(boot, topic, "read_committed", want=1),
           ["after"])


def ctp_load(boot, n):
    create(boot, "ctp-in", 3)
    create(boot, "ctp-out", 3)
    p = Producer({"bootstrap.servers": boot, "enable.idempotence": True})
    for i in range(n):
        p.produce("ctp-in", value=f"in-{i}".encode(), partition=i % 3)
    p.flush(30)
    print(f"ok loaded {n} input records")


def ctp_check(boot, n):
    out = read_all(boot, "ctp-out", "read_committed", partitions=3, want=n, quiet_s=2.0, limit_s=40)
    seen = {}
    for v in out:
        seen[v] = seen.get(v, 0) + 1
    dup = [v for v, c in seen.items() if c > 1]
    missing = [i for i in range(n) if f"out-in-{i}" not in seen]
    if dup or missing or len(out) != n:
        fail(f"output: {len(out)} records, {len(dup)} duplicated (e.g. {dup[:5]}), "
             f"{len(missing)} missing (e.g. {missing[:5]})")
    unc = read_all(boot, "ctp-out", "read_uncommitted", partitions=3, want=n, quiet_s=2.0)
    print(f"ok consume-transform-produce: {n} records exactly once "
          f"(read_uncommitted sees {len(unc)}, aborted included)")


def crash_open(boot):
    topic = "txn-crash"
    create(boot, topic, 2)
    p = txn_producer(boot, "crash", timeout_ms=3000)
    in_txn(p, topic, ["before"], partition=0)
    p.begin_transaction()
    for part in (0, 1):
        p.produce(topic, value=f"open-{part}".encode(), partition=part)
    p.flush(20)
    print("ok transaction left open on 2 partitions")
    os._exit(0)  # no abort, no close: the broker is killed next


def crash_check(boot):
    topic = "txn-crash"
    plain = Producer({"bootstrap.servers": boot})
    for part in (0, 1):
        plain.produce(topic, value=f"after-{part}".encode(), partition=part)
    plain.flush(20)
    got = read_all(boot, topic, "read_committed", partitions=2, want=3, quiet_s=1.5, limit_s=30)
    expect("after restart: open transaction aborted, no partition stuck",
           sorted(got), ["after-0", "after-1", "before"])


def rmq_load(boot):
    topic = "txn-rmq"
    create(boot, topic, 1)
    p = txn_producer(boot, "rmq")
    in_txn(p, topic, [f"c-{i}" for i in range(10)])
    in_txn(p, topic, [f"a-{i}" for i in range(10)], commit=False)
    in_txn(p, topic, [f"c-{i}" for i in range(10, 20)])
    print("ok 20 committed and 10 aborted records for the RocketMQ reader")


def rmq_check(d):
    want = {f"c-{i}" for i in range(20)}
    for name in ("push.jsonl", "lite.jsonl"):
        bodies = []
        with open(os.path.join(d, name)) as f:
            for line in f:
                rec = json.loads(line)
                bodies.append(binascii.unhexlify(rec["body_hex"]).decode())
        aborted = [b for b in bodies if b.startswith("a-")]
        if aborted:
            fail(f"{name}: aborted records delivered: {aborted[:5]}")
        if set(bodies) != want:
            fail(f"{name}: got {sorted(set(bodies))[:5]}..., want the 20 committed")
        print(f"ok rocketmq {name}: {len(set(bodies))} committed records, no aborted one")


def main():
    cmd, arg = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    {
        "basic": lambda: basic(arg),
        "zombie": lambda: zombie(arg),
        "timeout": lambda: timeout(arg),
        "ctp-load": lambda: ctp_load(arg, n),
        "ctp-check": lambda: ctp_check(arg, n),
        "crash-open": lambda: crash_open(arg),
        "crash-check": lambda: crash_check(arg),
        "rmq-load": lambda: rmq_load(arg),
        "rmq-check": lambda: rmq_check(arg),
    }[cmd]()


if __name__ == "__main__":
    main()
