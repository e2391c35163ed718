"""Produce throughput for conformance/cluster/bench.sh: confluent-kafka
sends N records of SIZE bytes over 4 partitions with the given acks (and
idempotence when acks=all), waits for every report, and prints
`BENCH <label> <n> msgs in <s> s = <rate> msg/s, <MB/s> MB/s` (failed
reports make it exit 1)."""
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, n, size, acks, label = sys.argv[1:7]
n, size = int(n), int(size)
failed = []
p = Producer({"bootstrap.servers": bootstrap, "acks": acks,
              "enable.idempotence": acks == "all", "linger.ms": 5,
              "batch.size": 262144, "queue.buffering.max.messages": 200000})
value = b"b" * size
# Warm-up: topic creation and connections.
for i in range(100):
    p.produce(topic, value=value, partition=i % 4)
p.flush(60)
t0 = time.time()
for i in range(n):
    while True:
        try:
            p.produce(topic, value=value, partition=i % 4,
                      on_delivery=lambda err, _m: err and failed.append(err))
            break
        except BufferError:
            p.poll(0.01)
    if i % 1000 == 0:
        p.poll(0)
p.flush(300)
took = time.time() - t0
print(f"BENCH {label} {n} msgs in {took:.2f} s = {n / took:.0f} msg/s, "
      f"{n * size / took / 1e6:.1f} MB/s")
sys.exit(1 if failed else 0)
