#!/usr/bin/env python3
"""RocketMQ pull load for conformance/perf/bench.sh (standard library only).

    pull_load.py HOST:PORT TOPIC COUNT [QUEUES] [MAX_NUMS]

Pulls queues 0..QUEUES-1 of TOPIC from offset 0 with PULL_MESSAGE (code 11,
JSON header, the fields a 4.9.x Java consumer sends, maxMsgNums MAX_NUMS,
no suspend) on one connection, one request in flight, following
nextBeginOffset, until COUNT messages were received. Messages are counted
by walking the stored entries of each reply body (totalSize first). Exits 1
on an error code or when the queues run dry before COUNT. Prints
"pulled N in S s".
"""
import json
import socket
import struct
import sys
import time


def frame(opaque, topic, queue, offset, max_nums):
    header = {
        "code": 11,
        "extFields": {
            "consumerGroup": "perf_cg", "topic": topic, "queueId": str(queue),
            "queueOffset": str(offset), "maxMsgNums": str(max_nums),
            "sysFlag": "2", "commitOffset": "0", "suspendTimeoutMillis": "0",
            "subscription": "*", "subVersion": "0", "expressionType": "TAG",
        },
        "flag": 0, "language": "JAVA", "opaque": opaque,
        "serializeTypeCurrentRPC": "JSON", "version": 407,
    }
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack(">II", 4 + len(h), len(h)) + h


def read_exact(s, n):
    out = bytearray()
    while len(out) < n:
        chunk = s.recv(min(n - len(out), 1 << 20))
        if not chunk:
            sys.exit("connection closed by the broker")
        out += chunk
    return out


def count_entries(body):
    n, pos = 0, 0
    while pos + 4 <= len(body):
        size = struct.unpack_from(">i", body, pos)[0]
        if size <= 0:
            break
        pos += size
        n += 1
    return n


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    topic, count = sys.argv[2], int(sys.argv[3])
    queues = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    max_nums = int(sys.argv[5]) if len(sys.argv) > 5 else 32
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    offsets = [0] * queues
    dry = set()
    got = opaque = 0
    t0 = time.monotonic()
    q = 0
    while got < count:
        if len(dry) == queues:
            sys.exit(f"queues ran dry after {got} of {count} messages")
        q = (q + 1) % queues
        if q in dry:
            continue
        opaque += 1
        s.sendall(frame(opaque, topic, q, offsets[q], max_nums))
        length, hl = struct.unpack(">II", read_exact(s, 8))
        rest = read_exact(s, length - 4)
        hlen = hl & 0xFFFFFF
        hdr = json.loads(bytes(rest[:hlen]))
        code = hdr.get("code")
        if code == 0:
            got += count_entries(memoryview(rest)[hlen:])
            offsets[q] = int(hdr["extFields"]["nextBeginOffset"])
        elif code in (19, 20):  # PULL_NOT_FOUND / PULL_RETRY_IMMEDIATELY: at the end
            dry.add(q)
        else:
            sys.exit(f"pull failed: {hdr}")
    print(f"pulled {got} in {time.monotonic() - t0:.2f} s")


if __name__ == "__main__":
    main()
