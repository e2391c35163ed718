"""Kafka admin steps of the groups suite (confluent-kafka and one raw
request):

  create HOST:PORT PARTITIONS TOPIC...   CreateTopics from an AdminClient
      bootstrapped at that node only (a group's master): the Metadata it
      gets names that node's group master as controller, so the topics are
      placed on its group; an existing topic is fine
  leaders BOOTSTRAP TOPIC...   prints `topic leader,leader...` from Metadata
      (the distinct partition leaders, sorted); waits up to 20 s for every
      partition of each topic to have a leader
  coordinator HOST:PORT GROUP...   prints `group node_id` per group id from a
      FindCoordinator (v0) request to that node (-1 on an error code)
"""
import socket
import struct
import sys
import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic


def create(addr, partitions, topics):
    # One bootstrap server: the AdminClient sends CreateTopics to the
    # controller that node's Metadata names, its group's master.
    admin = AdminClient({"bootstrap.servers": addr})
    fs = admin.create_topics(
        [NewTopic(t, num_partitions=int(partitions), replication_factor=-1) for t in topics],
        request_timeout=20)
    for name, f in fs.items():
        try:
            f.result(30)
            print(f"{name} created on {addr}")
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise SystemExit(f"create {name} on {addr}: {e}")
            print(f"{name} exists on {addr}")


def leaders(bootstrap, topics):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.time() + 20
    while True:
        md = admin.list_topics(timeout=10)
        out = {}
        for t in topics:
            tm = md.topics.get(t)
            if tm is None or tm.error is not None or not tm.partitions:
                break
            ls = {p.leader for p in tm.partitions.values()}
            if -1 in ls:
                break
            out[t] = sorted(ls)
        else:
            for t in topics:
                print(t, ",".join(str(n) for n in out[t]))
            return
        if time.time() > deadline:
            raise SystemExit(f"no leader for every partition of {topics} within 20 s")
        time.sleep(0.5)


def kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def request(addr, calls):
    """Sends (api key, v0 body) requests to addr in turn; returns the
    response bodies (after the correlation id)."""
    host, port = addr.rsplit(":", 1)
    out = []
    with socket.create_connection((host, int(port)), timeout=30) as s:
        for n, (key, body) in enumerate(calls):
            msg = struct.pack(">hhi", key, 0, n) + kstr("groups-suite") + body
            s.sendall(struct.pack(">i", len(msg)) + msg)
            size = struct.unpack(">i", recv(s, 4))[0]
            out.append(recv(s, size)[4:])
    return out


def coordinator(addr, groups):
    for g, resp in zip(groups, request(addr, [(10, kstr(g)) for g in groups])):
        err, node = struct.unpack(">hi", resp[:6])
        print(g, node if err == 0 else -1)


def recv(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise SystemExit("connection closed")
        buf += chunk
    return buf


cmd, target, *rest = sys.argv[1:]
if cmd == "create":
    create(target, rest[0], rest[1:])
elif cmd == "leaders":
    leaders(target, rest)
elif cmd == "coordinator":
    coordinator(target, rest)
else:
    raise SystemExit(f"unknown command {cmd}")
