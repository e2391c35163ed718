"""Produce then consume N records of 1 KiB through one Kafka listener with
confluent-kafka; prints "produce_s consume_s". Used by bench.sh, alternately
on the PLAINTEXT and the SSL listener of one rokka."""
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

addr, topic, n, ca = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
tls = {"security.protocol": "SSL", "ssl.ca.location": ca} if ca != "-" else {}
value = b"x" * 1024

p = Producer({"bootstrap.servers": addr, "linger.ms": 5, "acks": 1, **tls})
acked = [0]


def done(err, _msg):
    if err is None:
        acked[0] += 1


t0 = time.monotonic()
for i in range(n):
    while True:
        try:
            p.produce(topic, value, partition=0, on_delivery=done)
            break
        except BufferError:
            p.poll(0.01)
p.flush(60)
produce_s = time.monotonic() - t0
if acked[0] != n:
    sys.exit(f"{acked[0]} of {n} acknowledged")

c = Consumer({"bootstrap.servers": addr, "group.id": f"bench-{topic}", "enable.auto.commit": False,
              "fetch.max.bytes": 8 << 20, **tls})
c.assign([TopicPartition(topic, 0, 0)])
t0 = time.monotonic()
got = 0
while got < n and time.monotonic() - t0 < 120:
    for m in c.consume(1000, 1.0):
        if m.error() is None:
            got += 1
consume_s = time.monotonic() - t0
c.close()
if got != n:
    sys.exit(f"consumed {got} of {n}")
print(f"{produce_s:.3f} {consume_s:.3f}")
