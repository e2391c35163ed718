"""Failover probe: confluent-kafka, acks=all, idempotent, one record at a
time to partition 0 of TOPIC (produce, flush, 10 ms pause), until a stop
file appears. Writes `t_sent t_acked partition offset payload` per acknowledged
record to OUT, so the time from a kill to the first record acknowledged by
the new master can be read off (a record sent after the kill)."""
import os
import sys
import time

from confluent_kafka import KafkaException, Producer

bootstrap, topic, stop_file, out_path = sys.argv[1:5]
out = open(out_path, "w", buffering=1)
fatal = []
result = {}


def on_error(err):
    if err.fatal():
        fatal.append(str(err))


def on_delivery(err, msg):
    result["err"] = err
    result["msg"] = msg


CONF = {
    "bootstrap.servers": bootstrap,
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 0,
    "message.timeout.ms": 60000,
    "reconnect.backoff.ms": 20,
    "reconnect.backoff.max.ms": 200,
    "retry.backoff.ms": 20,
    "retry.backoff.max.ms": 200,
    "topic.metadata.refresh.interval.ms": 1000,
    "error_cb": on_error,
}
p = Producer(CONF)
fatals = 0

seq = 0
payload = "-"
deadline = time.time() + 900
while not os.path.exists(stop_file) and time.time() < deadline:
    if fatal:
        # As an application would: report, drop the producer, make a new one.
        print(f"FATAL at {payload}: {fatal[0]}", flush=True)
        fatals += 1
        fatal.clear()
        p = Producer(CONF)
    payload = f"probe-{seq:08d}"
    seq += 1
    result.clear()
    sent = time.time()
    try:
        p.produce(topic, value=payload.encode(), partition=0, on_delivery=on_delivery)
        p.flush(70)
    except KafkaException as e:
        fatal.append(str(e))
        continue
    err, msg = result.get("err"), result.get("msg")
    if msg is not None and err is None:
        out.write(f"{sent:.3f} {time.time():.3f} {msg.partition()} {msg.offset()} {payload}\n")
    time.sleep(0.01)
out.close()
print(f"probe sent={seq} fatal_errors={fatals}")
sys.exit(1 if fatals else 0)
