"""Crash-test check: reads every partition from its low to its high
watermark and compares with the producer's delivery reports. Fails on a
lost acknowledged record, a duplicated payload, an acknowledged offset that
holds another payload, or a gap or repeat in a partition's offsets."""
import sys
from collections import defaultdict

from confluent_kafka import Consumer, TopicPartition

bootstrap, topic, partitions, acks_path = sys.argv[1:5]
partitions = int(partitions)

acked = {}
for line in open(acks_path):
    part, off, payload = line.split()
    if payload in acked:
        sys.exit(f"FAIL: {payload} acknowledged twice")
    acked[payload] = (int(part), int(off))

c = Consumer({"bootstrap.servers": bootstrap, "group.id": "crash-check",
              "enable.auto.commit": False, "auto.offset.reset": "earliest",
              "fetch.max.bytes": 4 << 20})
seen = {}
offsets = defaultdict(list)
problems = []
for part in range(partitions):
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, part), timeout=20)
    c.assign([TopicPartition(topic, part, lo)])
    got = 0
    while got < hi - lo:
        # consume() waits for the whole count or the timeout: ask for what is left.
        batch = c.consume(min(5000, hi - lo - got), timeout=10)
        if not batch:
            problems.append(f"partition {part}: stalled at {got} of {hi - lo} records")
            break
        for m in batch:
            if m.error():
                problems.append(f"partition {part}: {m.error()}")
                continue
            payload = m.value().decode()
            if payload in seen:
                problems.append(f"{payload} duplicated at {seen[payload]} and {(part, m.offset())}")
            seen[payload] = (part, m.offset())
            offsets[part].append(m.offset())
            got += 1
    offs = offsets[part]
    if offs != list(range(lo, lo + len(offs))):
        problems.append(f"partition {part}: offsets not contiguous/unique from {lo}")
    print(f"partition {part}: offsets {lo}..{hi}, {len(offs)} records read")
c.close()

lost = [p for p in acked if p not in seen]
moved = [p for p, at in acked.items() if p in seen and seen[p] != at]
unacked = len(seen) - (len(acked) - len(lost))
print(f"acked={len(acked)} read={len(seen)} lost={len(lost)} duplicated="
      f"{sum('duplicated' in x for x in problems)} moved={len(moved)} stored_unacked={unacked}")
for p in lost[:5]:
    problems.append(f"acknowledged {p} at {acked[p]} is lost")
for p in moved[:5]:
    problems.append(f"acknowledged {p} at {acked[p]} read at {seen[p]}")
if lost or moved or problems:
    for x in problems[:20]:
        print("FAIL:", x)
    sys.exit(1)
print("OK")
