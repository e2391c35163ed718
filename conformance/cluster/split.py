"""Kafka side of the partition test (confluent-kafka, acks=all).

  split.py produce BOOTSTRAP TOPIC PREFIX N TIMEOUT OUT
      Produces N records PREFIX-000000.. to partition 0 and waits up to
      TIMEOUT s for their reports; appends `partition offset payload` per
      acknowledged record to OUT and prints `acked=A failed=F` with the
      first errors. Not idempotent, so a master that keeps refusing does not
      make the producer fatal; retries stop at the message timeout.
  split.py check BOOTSTRAP TOPIC ACKS FORBIDDEN_PREFIX
      Reads partition 0 from its low to its high watermark: every
      acknowledged record at its offset, no payload twice, offsets
      contiguous, and no record whose payload starts with FORBIDDEN_PREFIX
      (written to the isolated master, never acknowledged, must be gone).
"""
import sys
from collections import Counter

from confluent_kafka import Consumer, Producer, TopicPartition


def produce(bootstrap, topic, prefix, n, timeout, out_path):
    acked, errors = [], Counter()

    def report(err, msg):
        if err is None:
            acked.append(f"{msg.partition()} {msg.offset()} {msg.value().decode()}")
        else:
            errors[err.name()] += 1

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                  "message.timeout.ms": int(timeout * 1000), "retry.backoff.ms": 100,
                  "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500})
    for i in range(n):
        p.produce(topic, value=f"{prefix}-{i:06d}".encode(), partition=0, on_delivery=report)
        p.poll(0)
    p.flush(timeout + 10)
    with open(out_path, "a") as out:
        for line in acked:
            out.write(line + "\n")
    print(f"acked={len(acked)} failed={sum(errors.values())} errors={dict(errors)}")


def check(bootstrap, topic, acks_path, forbidden):
    acked = {}
    for line in open(acks_path):
        part, off, payload = line.split()
        acked[payload] = (int(part), int(off))
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "split-check",
                  "enable.auto.commit": False})
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=20)
    c.assign([TopicPartition(topic, 0, lo)])
    rows = []
    while len(rows) < hi - lo:
        batch = c.consume(5000, timeout=10)
        if not batch:
            break
        rows += [(m.offset(), m.value().decode()) for m in batch if not m.error()]
    c.close()
    at = {v: (0, o) for o, v in rows}
    problems = []
    if len(rows) != hi - lo:
        problems.append(f"read {len(rows)} of {hi - lo} records")
    if [o for o, _ in rows] != list(range(lo, lo + len(rows))):
        problems.append("offsets not contiguous")
    dups = [v for v, k in Counter(v for _, v in rows).items() if k > 1]
    lost = [p for p, where in acked.items() if at.get(p) != where]
    stale = [v for _, v in rows if v.startswith(forbidden)]
    print(f"{topic}[0]: offsets {lo}..{hi}, acked={len(acked)} lost_or_moved={len(lost)} "
          f"duplicated={len(dups)} from_isolated_master={len(stale)}")
    if dups:
        problems.append(f"payloads stored twice, e.g. {dups[:3]}")
    if lost:
        problems.append(f"acknowledged records lost or moved, e.g. {[(p, acked[p]) for p in lost[:3]]}")
    if stale:
        problems.append(f"records written to the isolated master survived, e.g. {stale[:3]}")
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1] == "produce":
        b, t, prefix, n, timeout, out = sys.argv[2:8]
        produce(b, t, prefix, int(n), float(timeout), out)
    else:
        sys.exit(check(*sys.argv[2:6]))
