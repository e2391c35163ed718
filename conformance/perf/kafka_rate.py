#!/usr/bin/env python3
"""Kafka produce rate and loopback bandwidth for conformance/perf/throughput.sh.

    kafka_rate.py produce BOOTSTRAP TOPIC COUNT [BYTES]
    kafka_rate.py loopback MB

produce: one librdkafka producer, acks=1, linger.ms 5, up to 100k records
and 64 MiB queued (many requests in flight per partition), COUNT records of
BYTES (1024); the clock stops when flush() returns, i.e. every record is
acknowledged (confluent-kafka). loopback: MB mebibytes through one 127.0.0.1 TCP
connection in 1 MiB writes (the ceiling a fetch over loopback can reach).
Each prints "<MiB/s> <records/s>" (loopback: "<MiB/s>"); exits 1 on errors.
"""
import socket
import sys
import threading
import time


def produce(bootstrap, topic, count, size):
    from confluent_kafka import Producer
    p = Producer({
        "bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 5,
        "batch.size": 1 << 20, "queue.buffering.max.messages": 100000,
        "queue.buffering.max.kbytes": 65536, "max.in.flight.requests.per.connection": 16,
    })
    errors = []

    def done(err, _msg):
        if err is not None:
            errors.append(err)

    value = b"x" * size
    t0 = time.monotonic()
    for _ in range(count):
        while True:
            try:
                p.produce(topic, value, on_delivery=done)
                break
            except BufferError:
                p.poll(0.005)
        p.poll(0)
    left = p.flush(120)
    dt = time.monotonic() - t0
    if left or errors:
        sys.exit(f"produce: {left} unacknowledged, errors {errors[:3]}")
    print(f"{count * size / dt / 2**20:.1f} {count / dt:.0f}")


def loopback(mb):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    total = mb << 20

    def sink():
        conn, _ = srv.accept()
        buf = bytearray(1 << 20)
        left = total
        while left > 0:
            n = conn.recv_into(buf)
            if n == 0:
                break
            left -= n
        conn.close()

    t = threading.Thread(target=sink)
    t.start()
    s = socket.create_connection(srv.getsockname())
    chunk = b"x" * (1 << 20)
    t0 = time.monotonic()
    for _ in range(mb):
        s.sendall(chunk)
    s.shutdown(socket.SHUT_WR)
    t.join()
    dt = time.monotonic() - t0
    s.close()
    print(f"{mb / dt:.1f}")


def main():
    mode = sys.argv[1]
    if mode == "produce":
        size = int(sys.argv[5]) if len(sys.argv) > 5 else 1024
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]), size)
    elif mode == "loopback":
        loopback(int(sys.argv[2]))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
