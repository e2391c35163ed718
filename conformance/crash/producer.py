"""Crash-test producer: confluent-kafka with acks=all and idempotence,
sending unique payloads round-robin over the partitions of one topic until
a stop file appears, then flushing. Every delivery report is written to
ACKS (one line: partition offset payload) or, on error, to FAILS."""
import os
import sys
import time

from confluent_kafka import KafkaException, Producer

bootstrap, topic, partitions, stop_file, acks_path, fails_path = sys.argv[1:7]
partitions = int(partitions)

acks = open(acks_path, "w", buffering=1)
fails = open(fails_path, "w", buffering=1)
fatal = []


def on_error(err):
    # Broker-down errors are expected while rokka restarts; fatal ones are not.
    if err.fatal():
        fatal.append(str(err))


def on_delivery(err, msg):
    payload = msg.value().decode()
    if err is None:
        acks.write(f"{msg.partition()} {msg.offset()} {payload}\n")
    else:
        fails.write(f"{payload} {err}\n")


p = Producer({
    "bootstrap.servers": bootstrap,
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 2,
    # Outlast every restart: a record is only given up after two minutes.
    "message.timeout.ms": 120000,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 500,
    "queue.buffering.max.messages": 20000,
    "error_cb": on_error,
})

seq = 0
deadline = time.time() + 600
while not os.path.exists(stop_file) and time.time() < deadline and not fatal:
    payload = f"crash-{seq:09d}-" + "x" * (seq % 64)
    try:
        p.produce(topic, value=payload.encode(), partition=seq % partitions,
                  on_delivery=on_delivery)
        seq += 1
    except BufferError:
        p.poll(0.05)
        continue
    except KafkaException as e:
        fatal.append(str(e))
        break
    if seq % 100 == 0:
        p.poll(0)
    if seq % 2000 == 0:
        time.sleep(0.01)

left = p.flush(150)
acks.close()
fails.close()
print(f"produced={seq} unflushed={left} fatal={fatal}")
sys.exit(1 if fatal or left else 0)
