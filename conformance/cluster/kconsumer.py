"""Kafka consumer group member (confluent-kafka) for the cluster suite:
subscribes GROUP to TOPIC, auto-commits every second (the application
pattern: commit what was consumed), and writes `t_ms partition offset
payload` per delivery to OUT. Runs until the stop file appears, or with
--idle N until nothing arrived for N seconds; then closes, which commits
the final offsets. At most MAX seconds in all."""
import argparse
import os
import time

from confluent_kafka import Consumer, KafkaException

ap = argparse.ArgumentParser()
ap.add_argument("bootstrap")
ap.add_argument("topic")
ap.add_argument("group")
ap.add_argument("out")
ap.add_argument("--stop", default="")
ap.add_argument("--idle", type=float, default=0)
ap.add_argument("--max", type=float, default=900)
a = ap.parse_args()

errors = []
c = Consumer({
    "bootstrap.servers": a.bootstrap,
    "group.id": a.group,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": True,
    "auto.commit.interval.ms": 1000,
    "session.timeout.ms": 10000,
    "heartbeat.interval.ms": 1000,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 500,
    "error_cb": lambda e: errors.append(str(e)) if e.fatal() else None,
    # KC_DEBUG=cgrp,fetch,topic: librdkafka's own log on stderr, for findings.
    **({"debug": os.environ["KC_DEBUG"]} if os.environ.get("KC_DEBUG") else {}),
})
c.subscribe([a.topic])
out = open(a.out, "w", buffering=1)
start = last = time.time()
n = 0
while time.time() - start < a.max and not errors:
    if a.stop and os.path.exists(a.stop):
        break
    if a.idle and time.time() - last > a.idle:
        break
    try:
        batch = c.consume(500, timeout=0.5)
    except KafkaException as e:
        errors.append(str(e))
        break
    now = time.time()
    for m in batch:
        if m.error():
            continue
        out.write(f"{int(now * 1000)} {m.partition()} {m.offset()} {m.value().decode()}\n")
        n += 1
        last = now
c.close()
out.close()
print(f"kafka consumer {a.group}: {n} deliveries, fatal={errors}")
raise SystemExit(1 if errors else 0)
