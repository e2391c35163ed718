"""gRPC loads for conformance/grpc/bench.sh, driven through the RocketMQ 5.x
Python SDK (rocketmq-python-client):

    bench_load.py send    HOST:PORT TOPIC COUNT THREADS [BODY_BYTES]
    bench_load.py receive HOST:PORT TOPIC GROUP COUNT THREADS [INVISIBLE_S]

send: one Producer, THREADS threads calling the synchronous send() with a
BODY_BYTES (1024) body until COUNT sends were answered.
receive: one SimpleConsumer of GROUP, THREADS threads each looping
receive(32, INVISIBLE_S) and a synchronous ack() of every message received,
until COUNT distinct messages were acknowledged (a redelivered one is counted
once, and reported); the clock stops there, not when the other threads return
from their last long poll (await 1 s).

The clock and, with ROKKA_PID set, the broker's CPU ticks (utime+stime of
/proc/ROKKA_PID/stat) are read after the client has started (routes,
settings, telemetry) and before it shuts down, so both cover the load only.
Prints "N S TICKS [DUPLICATES]" (TICKS is -1 without ROKKA_PID); exits 1 on a
failed send or when COUNT was not reached within 300 s.
"""

import os
import sys
import threading
import time

from rocketmq import (ClientConfiguration, Credentials, FilterExpression,
                      Message, Producer, SimpleConsumer)

DEADLINE_S = 300


def ticks():
    pid = os.environ.get("ROKKA_PID")
    if not pid:
        return -1
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def config(endpoint):
    return ClientConfiguration(endpoint, Credentials(), request_timeout=10)


def run_threads(threads, work):
    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def send(endpoint, topic, count, threads, body_bytes=1024):
    body = b"x" * body_bytes
    producer = Producer(config(endpoint), (topic,))
    producer.startup()
    lock = threading.Lock()
    state = {"left": count, "failed": None}
    end = time.monotonic() + DEADLINE_S

    def work():
        while time.monotonic() < end:
            with lock:
                if state["left"] <= 0 or state["failed"]:
                    return
                state["left"] -= 1
            m = Message()
            m.topic = topic
            m.body = body
            m.tag = "TagA"
            try:
                producer.send(m)
            except Exception as e:  # noqa: BLE001 - reported, then exit 1
                with lock:
                    state["failed"] = repr(e)

    t0, c0 = time.monotonic(), ticks()
    run_threads(threads, work)
    secs, c1 = time.monotonic() - t0, ticks()
    producer.shutdown()
    if state["failed"] or state["left"] > 0:
        sys.exit(f"send failed: {state['failed'] or 'deadline'}")
    print(f"{count} {secs:.3f} {c1 - c0 if c0 >= 0 else -1}")


def receive(endpoint, topic, group, count, threads, invisible=10):
    consumer = SimpleConsumer(config(endpoint), group, {topic: FilterExpression()},
                              await_duration=1)
    consumer.startup()
    lock = threading.Lock()
    seen = set()
    state = {"dups": 0, "failed": None, "done": None}
    end = time.monotonic() + DEADLINE_S

    def work():
        while time.monotonic() < end:
            with lock:
                if len(seen) >= count or state["failed"]:
                    return
            try:
                got = consumer.receive(32, invisible) or []
                for m in got:
                    consumer.ack(m)
            except Exception as e:  # noqa: BLE001 - reported, then exit 1
                with lock:
                    state["failed"] = repr(e)
                return
            with lock:
                for m in got:
                    if m.message_id in seen:
                        state["dups"] += 1
                    seen.add(m.message_id)
                if len(seen) >= count and not state["done"]:
                    # the others may still wait out a long poll on an empty queue
                    state["done"] = (time.monotonic(), ticks())

    t0, c0 = time.monotonic(), ticks()
    run_threads(threads, work)
    t1, c1 = state["done"] or (time.monotonic(), ticks())
    secs = t1 - t0
    consumer.shutdown()
    if state["failed"] or len(seen) < count:
        sys.exit(f"receive failed after {len(seen)} of {count}: {state['failed'] or 'deadline'}")
    print(f"{len(seen)} {secs:.3f} {c1 - c0 if c0 >= 0 else -1} {state['dups']}")


def main():
    a = sys.argv
    if len(a) >= 6 and a[1] == "send":
        send(a[2], a[3], int(a[4]), int(a[5]), *(int(x) for x in a[6:7]))
    elif len(a) >= 7 and a[1] == "receive":
        receive(a[2], a[3], a[4], int(a[5]), int(a[6]), *(int(x) for x in a[7:8]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
