"""Cluster-suite Kafka load: confluent-kafka with acks=all and idempotence,
bootstrap = every node, sending unique payloads round-robin over the
partitions of TOPIC at about RATE records/s until a stop file appears,
then flushing. Every delivery report goes to ACKS (`partition offset
payload`) or, on error, to FAILS. A fatal error (the idempotent producer
giving up, e.g. on a sequence gap after a failover) is printed as a
`FATAL` line; the producer is then replaced by a new one, as an application
would, and the exit code is 1 at the end."""
import os
import sys
import time

from confluent_kafka import KafkaException, Producer

bootstrap, topic, partitions, rate, stop_file, acks_path, fails_path = sys.argv[1:8]
partitions, rate = int(partitions), float(rate)

acks = open(acks_path, "w", buffering=1)
fails = open(fails_path, "w", buffering=1)
fatal = []


def on_error(err):
    if err.fatal():
        fatal.append(str(err))


def on_delivery(err, msg):
    payload = msg.value().decode()
    if err is None:
        acks.write(f"{msg.partition()} {msg.offset()} {payload}\n")
    else:
        fails.write(f"{payload} {err}\n")


CONF = {
    "bootstrap.servers": bootstrap,
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 5,
    # Outlast every failover: a record is only given up after two minutes.
    "message.timeout.ms": 120000,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 500,
    "retry.backoff.ms": 50,
    "retry.backoff.max.ms": 500,
    "error_cb": on_error,
}


def new_producer():
    fatal.clear()
    return Producer(CONF)


p = new_producer()
fatals = []
seq = 0
start = time.time()
deadline = start + 900
while not os.path.exists(stop_file) and time.time() < deadline:
    if fatal:
        print(f"FATAL at seq {seq}: {fatal[0]}", flush=True)
        fatals.append(fatal[0])
        try:
            p.purge()
            p.flush(10)
        except KafkaException:
            pass
        p = new_producer()
    ahead = seq / rate - (time.time() - start)
    if ahead > 0:
        try:
            p.poll(min(ahead, 0.05))
        except KafkaException as e:
            fatal.append(str(e))
        continue
    payload = f"k-{seq:09d}-" + "x" * (seq % 64)
    try:
        p.produce(topic, value=payload.encode(), partition=seq % partitions,
                  on_delivery=on_delivery)
        seq += 1
    except BufferError:
        p.poll(0.05)
    except KafkaException as e:
        fatal.append(str(e))
        continue
    try:
        p.poll(0)
    except KafkaException as e:
        fatal.append(str(e))

left = p.flush(150)
acks.close()
fails.close()
print(f"kafka producer: produced={seq} unflushed={left} fatal_errors={len(fatals)}")
sys.exit(1 if fatals or fatal or left else 0)
