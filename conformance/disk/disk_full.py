"""Disk-full scenario against a rokka whose data directory sits on a small
file system: a real Kafka client (confluent-kafka) produces with acks=all
until rokka refuses with KAFKA_STORAGE_ERROR (56); then every acknowledged
record must still be readable (nothing unexpired was deleted), the metrics
must tell the truth, and after the filler file is removed writes resume at
the next offset.

usage: disk_full.py BOOTSTRAP HTTP_ADDR DATA_DIR FILLER"""

import os
import sys
import time
import urllib.request

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

BOOT, HTTP, DATA, FILLER = sys.argv[1:5]
TOPIC = "disk-full"
VALUE = 1000


def log(msg):
    print(f"[disk] {msg}", flush=True)


def fail(msg):
    log(f"FAIL: {msg}")
    sys.exit(1)


def metrics():
    text = urllib.request.urlopen(f"http://{HTTP}/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def df_ratio(path):
    st = os.statvfs(path)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    return used / (used + avail)


def produce(n, start_id, acked, refused):
    """Sends n records (ids start_id..) to partition 0; returns when all are reported."""
    p = Producer({
        "bootstrap.servers": BOOT,
        "acks": "all",
        "retries": 0,
        "linger.ms": 5,
        "message.timeout.ms": 15000,
        "enable.idempotence": False,
    })

    def report(err, msg):
        rid = int(msg.key())
        if err is None:
            acked[msg.offset()] = rid
        else:
            refused.append((rid, err.code()))

    for i in range(start_id, start_id + n):
        value = (f"{i:08d}".encode() * (VALUE // 8 + 1))[:VALUE]
        while True:
            try:
                p.produce(TOPIC, key=str(i).encode(), value=value, partition=0, on_delivery=report)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    if p.flush(30) != 0:
        fail("producer did not finish in 30 s")


def read_all(expected_end):
    c = Consumer({
        "bootstrap.servers": BOOT,
        "group.id": f"disk-check-{time.time()}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    c.assign([TopicPartition(TOPIC, 0, 0)])
    got = {}
    deadline = time.time() + 60
    while time.time() < deadline and len(got) < expected_end:
        for m in c.consume(1000, 1.0):
            if m.error():
                fail(f"consume error {m.error()}")
            got[m.offset()] = m
    c.close()
    return got


def check_reads(acked):
    end = max(acked) + 1
    got = read_all(end)
    for off, rid in acked.items():
        m = got.get(off)
        if m is None:
            fail(f"acknowledged record at offset {off} is gone")
        if int(m.key()) != rid or m.value()[:8] != f"{rid:08d}".encode():
            fail(f"offset {off} holds {m.key()} instead of {rid}")
    return len(got)


# 1. Fill until refused.
acked, refused = {}, []
sent = 0
while not refused and sent < 200_000:
    produce(2000, sent, acked, refused)
    sent += 2000
if not refused:
    fail(f"no refusal after {sent} records")
codes = {code for _, code in refused}
if codes != {KafkaError.KAFKA_STORAGE_ERROR}:
    fail(f"refused with {codes}, expected only KAFKA_STORAGE_ERROR (56)")
log(f"{len(acked)} records acknowledged, then {len(refused)} refused with error 56 "
    f"(KAFKA_STORAGE_ERROR); df says {df_ratio(DATA):.3f} used")
if len(acked) < 1000:
    fail("too few records fit before the refusal")

# 2. Everything acknowledged is still there; the metrics tell the truth.
m = metrics()
ratios = {k: v for k, v in m.items() if k.startswith("rokka_store_disk_used_ratio{")}
log(f"metrics: {ratios}")
if len(ratios) != 3:
    fail(f"expected one ratio per store directory, got {ratios}")
actual = df_ratio(DATA)
for k, v in ratios.items():
    if v >= 1.0 or abs(v - actual) > 0.05:
        fail(f"{k}={v} but df says {actual:.3f}")
deleted = m.get("rokka_store_segments_deleted_total", 0)
if deleted != 0:
    fail(f"retention deleted {deleted} segments of unexpired data")
refusals = sum(v for k, v in m.items() if k.startswith("rokka_store_appends_refused_total{"))
# Counted per refused append (one produce request's batch), not per record.
if not 1 <= refusals <= len(refused):
    fail(f"{refusals} refused appends counted for {len(refused)} refused records")
n = check_reads(acked)
log(f"all {len(acked)} acknowledged records read back ({n} records in the partition), "
    f"segments deleted: {deleted:.0f}, refusals counted: {refusals:.0f}")

# 3. Room again: writes resume right after the last acknowledged offset.
os.remove(FILLER)
time.sleep(2.5)
before = max(acked)
more_acked, more_refused = {}, []
produce(200, sent, more_acked, more_refused)
if more_refused or len(more_acked) != 200:
    fail(f"after freeing space: {len(more_acked)} acked, refused {more_refused[:3]}")
if min(more_acked) != before + 1:
    fail(f"resumed at offset {min(more_acked)}, expected {before + 1}")
acked.update(more_acked)
check_reads(acked)
log(f"after freeing space 200 more records acknowledged at offsets "
    f"{min(more_acked)}..{max(more_acked)}; all {len(acked)} read back")
log("ok")
