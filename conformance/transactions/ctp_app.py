"""A consume-transform-produce application (exactly-once): reads ctp-in
(read_committed, group ctp-app), writes out-<value> to ctp-out and commits
its input offsets in the same transaction (send_offsets_to_transaction).
Writes the number of input records it has committed to PROGRESS after each
transaction; exits 0 once the group's committed offsets reach the end of every
input partition. Killed with SIGKILL mid-way by run.sh and started again.

usage: ctp_app.py BOOT PROGRESS"""

import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

boot, progress = sys.argv[1], sys.argv[2]
c = Consumer({
    "bootstrap.servers": boot,
    "group.id": "ctp-app",
    "isolation.level": "read_committed",
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "session.timeout.ms": 6000,
})
p = Producer({"bootstrap.servers": boot, "transactional.id": "ctp-app-tx"})
p.init_transactions(30)
c.subscribe(["ctp-in"])
ends = {}
for part in range(3):
    _, hi = c.get_watermark_offsets(TopicPartition("ctp-in", part), timeout=10)
    ends[part] = hi
done = 0
deadline = time.time() + 120
while time.time() < deadline:
    msgs = c.consume(num_messages=50, timeout=1.0)
    msgs = [m for m in msgs if not m.error()]
    if msgs:
        p.begin_transaction()
        for m in msgs:
            p.produce("ctp-out", value=b"out-" + m.value(), partition=m.partition())
        p.flush(30)
        time.sleep(0.1)  # inside the transaction: run.sh's kill lands mid-way
        p.send_offsets_to_transaction(c.position(c.assignment()),
                                      c.consumer_group_metadata(), 30)
        p.commit_transaction(30)
        done += len(msgs)
        with open(progress, "a") as f:
            f.write(f"{done}\n")
        continue
    assigned = c.assignment()
    if len(assigned) == 3:
        committed = c.committed(assigned, timeout=10)
        if all(tp.offset >= ends[tp.partition] for tp in committed):
            print(f"ctp app: input consumed ({done} records in this run)")
            c.close()
            sys.exit(0)
print("ctp app: did not reach the end of the input within 120 s")
sys.exit(1)
