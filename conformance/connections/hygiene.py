"""Idle, slow and flood clients against a real rokka started with short
timeouts and small per-address caps (see run.sh for the config). Raw sockets
play the misbehaving clients, each group from its own loopback address so
the per-address caps apply to it alone; confluent-kafka is the normal client,
served throughout.

usage: hygiene.py KAFKA NAMESRV HTTP ROKKA_LOG"""

import re
import select
import socket
import sys
import time
import urllib.request

from confluent_kafka import Consumer, Producer, TopicPartition

KAFKA, NAMESRV, HTTP, LOG = sys.argv[1:5]
PER_IP = 60
IDLE_S = 2.0
FRAME_S = 3.0
LOGS_PER_S = 5


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def log(msg):
    print(f"[connections] {msg}", flush=True)


def fail(msg):
    log(f"FAIL: {msg}")
    sys.exit(1)


def metric(prefix):
    text = urllib.request.urlopen(f"http://{HTTP}/metrics", timeout=10).read().decode()
    return sum(float(line.rpartition(" ")[2]) for line in text.splitlines()
               if line.startswith(prefix))


def connect(target, source):
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(addr(target))
    return s


def closed_within(s, seconds):
    """True if the peer closes s within seconds (reads nothing else)."""
    s.settimeout(seconds)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def closed_now(socks):
    """The sockets of socks the peer has closed, checked all at once."""
    readable, _, _ = select.select(socks, [], [], 0)
    return [s for s in readable if closed_within(s, 0.01)]


def normal_client(tag):
    topic = "hygiene-normal"
    p = Producer({"bootstrap.servers": KAFKA, "acks": "all", "linger.ms": 5})
    for i in range(100):
        p.produce(topic, key=f"{tag}-{i}".encode(), value=b"v" * 100, partition=0)
    if p.flush(30) != 0:
        fail(f"normal client ({tag}): produce did not finish")
    c = Consumer({"bootstrap.servers": KAFKA, "group.id": f"hyg-{tag}-{time.time()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    seen = set()
    deadline = time.time() + 30
    while time.time() < deadline:
        for m in c.consume(500, 1.0):
            if m.error():
                fail(f"normal client ({tag}): {m.error()}")
            seen.add(m.key().decode())
        if all(f"{tag}-{i}" in seen for i in range(100)):
            break
    c.close()
    if not all(f"{tag}-{i}" in seen for i in range(100)):
        fail(f"normal client ({tag}): read back {len(seen)} records")
    log(f"normal client ({tag}): 100 records produced (acks=all) and read back")


# 1. Caps: 100 connections from one address, PER_IP admitted, the rest closed at once.
for name, target, src in (("kafka", KAFKA, "127.0.0.2"), ("namesrv", NAMESRV, "127.0.0.3")):
    before = metric(f'rokka_connections_refused_total{{listener="{name}",reason="max_connections_per_ip"}}')
    opened = time.time()
    socks = [connect(target, src) for _ in range(100)]
    time.sleep(0.5)
    refused = closed_now(socks)
    kept = [s for s in socks if s not in refused]
    counted = metric(f'rokka_connections_refused_total{{listener="{name}",reason="max_connections_per_ip"}}') - before
    log(f"{name}: 100 connections from {src}: {len(kept)} kept, {len(refused)} closed at once, "
        f"{counted:.0f} counted as refused")
    if len(kept) != PER_IP or len(refused) != 100 - PER_IP or counted != 100 - PER_IP:
        fail(f"{name}: per-address cap of {PER_IP} not applied")
    if name == "kafka":
        normal_client("while-capped")
    # 2. Idle: the kept ones are closed after the idle timeout, not before.
    early = closed_now(kept)
    if early and time.time() - opened < IDLE_S - 0.2:
        fail(f"{name}: {len(early)} idle connections closed before the idle timeout")
    still = [s for s in kept if not closed_within(s, max(0.01, IDLE_S + 3 - (time.time() - opened)))]
    took = time.time() - opened
    log(f"{name}: {len(kept) - len(still)} idle connections closed after {took:.1f} s "
        f"(idle timeout {IDLE_S} s)")
    if still or took < IDLE_S - 0.2:
        fail(f"{name}: {len(still)} idle connections still open after {took:.1f} s")
    for s in socks:
        s.close()

# 3. Slow: a frame trickling in one byte every 0.5 s is closed after the frame read timeout.
frames = {"kafka": b"\x00\x00\x00\x64", "namesrv": b"\x00\x00\x00\x64\x00\x00\x00\x10"}
for name, target, src in (("kafka", KAFKA, "127.0.0.4"), ("namesrv", NAMESRV, "127.0.0.5")):
    proto = "kafka" if name == "kafka" else "remoting"
    before = metric(f'rokka_rejected_frames_total{{protocol="{proto}",reason="timeout"}}')
    socks = [connect(target, src) for _ in range(20)]
    t0 = time.time()
    for s in socks:
        s.sendall(frames[name])
    open_socks = list(socks)
    while open_socks and time.time() - t0 < FRAME_S + 5:
        time.sleep(0.5)
        for s in list(open_socks):
            try:
                s.sendall(b"x")
            except OSError:
                open_socks.remove(s)
                continue
            if closed_within(s, 0.001):
                open_socks.remove(s)
    took = time.time() - t0
    counted = metric(f'rokka_rejected_frames_total{{protocol="{proto}",reason="timeout"}}') - before
    log(f"{name}: 20 clients sending one byte each 0.5 s: closed after {took:.1f} s "
        f"(frame read timeout {FRAME_S} s), {counted:.0f} counted as rejected frames (timeout)")
    if open_socks or counted != 20 or took < FRAME_S - 0.5:
        fail(f"{name}: slow clients not closed by the frame read timeout")
    for s in socks:
        s.close()

# 4. Flood: 1000 garbage frames on each listener; all counted, few WARN lines.
with open(LOG, encoding="utf-8", errors="replace") as f:
    warn_before = sum(1 for line in f if " WARN " in line)
bad = {"kafka": b"\xff\xff\xff\xff", "namesrv": b"\xff\xff\xff\xff\x00\x00\x00\x00"}
t0 = time.time()
for name, target, src in (("kafka", KAFKA, "127.0.0.6"), ("namesrv", NAMESRV, "127.0.0.7")):
    proto = "kafka" if name == "kafka" else "remoting"
    before = metric(f'rokka_rejected_frames_total{{protocol="{proto}"')
    for _ in range(1000):
        s = connect(target, src)
        s.sendall(bad[name])
        closed_within(s, 5)
        s.close()
    counted = metric(f'rokka_rejected_frames_total{{protocol="{proto}"') - before
    if counted != 1000:
        fail(f"{name}: {counted:.0f} of 1000 garbage frames counted")
    log(f"{name}: 1000 garbage frames, all counted in rokka_rejected_frames_total")
elapsed = time.time() - t0
time.sleep(2.5)
with open(LOG, encoding="utf-8", errors="replace") as f:
    lines = [line for line in f if " WARN " in line][warn_before:]
warns = len(lines)
# Lines per second plus the once-a-second summary of a burst.
limit = (LOGS_PER_S + 1) * (int(elapsed) + 4)
reported = sum(int(re.search(r"suppressed=(\d+)", line).group(1))
               for line in lines if "suppressed=" in line)
log(f"flood: 2000 garbage frames in {elapsed:.1f} s, all counted; {warns} WARN lines logged "
    f"(limit {LOGS_PER_S}/s), reporting {reported} suppressed lines")
if warns > limit:
    fail(f"{warns} WARN lines for a {elapsed:.1f} s flood (limit {limit})")
if warns + reported < 2000:
    fail(f"{warns} logged + {reported} reported as suppressed < 2000 rejected frames")

normal_client("after-flood")
log("ok")
