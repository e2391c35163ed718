#!/usr/bin/env python3
"""RocketMQ sync-send load for conformance/perf/bench.sh (standard library only).

    rmq_load.py HOST:PORT TOPIC COUNT CONNS [BODY_BYTES]

Opens CONNS connections to the broker and keeps exactly one SEND_MESSAGE_V2
(code 310, JSON header, the field set a 4.9.x Java producer sends) in flight
on each, i.e. CONNS synchronous senders, until COUNT sends were acknowledged.
Exits 1 on any non-SUCCESS response. Prints "sent N in S s".
RMQ_PROPS (environment) adds properties, e.g. "TIMER_DELAY_SEC\u00013600\u0002".
"""
import json
import os
import selectors
import socket
import struct
import sys
import time


PROPS = os.environ.get("RMQ_PROPS", "")


def frame(opaque, topic, queue, body):
    header = {
        "code": 310,
        "extFields": {
            "a": "perf_pg", "b": topic, "c": "TBW102", "d": "4", "e": str(queue),
            "f": "0", "g": str(int(time.time() * 1000)), "h": "0",
            "i": PROPS + "WAIT\u0001true\u0002TAGS\u0001TagA", "j": "0", "k": "false",
            "m": "false", "n": "broker-a",
        },
        "flag": 0, "language": "JAVA", "opaque": opaque,
        "serializeTypeCurrentRPC": "JSON", "version": 407,
    }
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack(">II", 4 + len(h) + len(body), len(h)) + h + body


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    topic, count, conns = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    body = b"x" * (int(sys.argv[5]) if len(sys.argv) > 5 else 1024)
    sel = selectors.DefaultSelector()
    state = {}
    opaque = 0
    sent = acked = 0
    t0 = time.monotonic()
    for i in range(conns):
        s = socket.create_connection((host, int(port)))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        state[s] = bytearray()
        sel.register(s, selectors.EVENT_READ)
        if sent < count:
            opaque += 1
            s.sendall(frame(opaque, topic, i % 4, body))
            sent += 1
    while acked < count:
        for key, _ in sel.select(timeout=30):
            s = key.fileobj
            data = s.recv(65536)
            if not data:
                sys.exit("connection closed by the broker")
            buf = state[s]
            buf += data
            while len(buf) >= 8:
                length, hl = struct.unpack(">II", buf[:8])
                if len(buf) < 4 + length:
                    break
                hdr = json.loads(bytes(buf[8:8 + (hl & 0xFFFFFF)]))
                del buf[:4 + length]
                if hdr.get("code") != 0:
                    sys.exit(f"send failed: {hdr}")
                acked += 1
                if sent < count:
                    opaque += 1
                    s.sendall(frame(opaque, topic, opaque % 4, body))
                    sent += 1
    print(f"sent {acked} in {time.monotonic() - t0:.2f} s")


if __name__ == "__main__":
    main()
