"""Scenario helpers for conformance/burrow/run.sh, against a real rokka.

A decoder of `__consumer_offsets` written from Kafka's schemas
(group-coordinator OffsetCommitKey/Value, GroupMetadataKey/Value), the
OffsetFetch view of every group (kafka-python admin client), Burrow's HTTP
API, and the protection checks. Every wait is bounded.

Usage: offsets.py <command> <kafka host:port> [args...]; prints PASS/FAIL
lines and exits non-zero on failure.
"""

import json
import os
import struct
import sys
import time
import urllib.error
import urllib.request

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka import ConsumerGroupTopicPartitions
from kafka import KafkaAdminClient

OFFSETS = "__consumer_offsets"


def fail(msg):
    print(f"FAIL {msg}", flush=True)
    sys.exit(1)


def ok(msg):
    print(f"PASS {msg}", flush=True)


# --- decoder (from the schemas) -----------------------------------------------


class Buf:
    def __init__(self, b):
        self.b, self.i = b, 0

    def take(self, n):
        if self.i + n > len(self.b):
            raise ValueError("short record")
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def nstr(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def nbytes(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def done(self):
        if self.i != len(self.b):
            raise ValueError(f"{len(self.b) - self.i} trailing bytes")


def java_hash(s):
    h = 0
    units = s.encode("utf-16-be")
    for k in range(0, len(units), 2):
        h = (31 * h + int.from_bytes(units[k:k + 2], "big")) & 0xFFFFFFFF
    return h


def decode_key(raw):
    b = Buf(raw)
    v = b.i16()
    if v in (0, 1):
        key = ("offset", b.nstr(), b.nstr(), b.i32())
    elif v == 2:
        key = ("group", b.nstr())
    else:
        raise ValueError(f"key version {v}")
    b.done()
    return v, key


def decode_offset_value(raw):
    b = Buf(raw)
    v = b.i16()
    if v != 3:
        raise ValueError(f"offset value version {v}, rokka writes 3")
    offset, _epoch, metadata, ts = b.i64(), b.i32(), b.nstr(), b.i64()
    b.done()
    return {"offset": offset, "metadata": metadata or "", "ts": ts}


def decode_group_value(raw):
    b = Buf(raw)
    v = b.i16()
    if v != 1:
        raise ValueError(f"group value version {v}, rokka writes 1")
    out = {"protocol_type": b.nstr(), "generation": b.i32(), "protocol": b.nstr(),
           "leader": b.nstr(), "members": []}
    for _ in range(b.i32()):
        out["members"].append({"member_id": b.nstr(), "client_id": b.nstr(),
                               "client_host": b.nstr(), "rebalance_timeout": b.i32(),
                               "session_timeout": b.i32(), "subscription": b.nbytes(),
                               "assignment": b.nbytes()})
    b.done()
    return out


def read_offsets_topic(boot):
    """Every record of the topic from offset 0: latest offsets per group
    ({group: {(topic, partition): (offset, metadata)}}), group metadata, and
    counts. Fails on any record that does not decode or sits in the wrong
    partition."""
    c = Consumer({"bootstrap.servers": boot, "group.id": "offsets-decoder-unused",
                  "enable.auto.commit": False, "check.crcs": True,
                  "enable.partition.eof": True})
    md = c.list_topics(OFFSETS, timeout=10).topics[OFFSETS]
    n = len(md.partitions)
    ends = {}
    for p in md.partitions:
        lo, hi = c.get_watermark_offsets(TopicPartition(OFFSETS, p), timeout=10)
        if hi > lo:
            ends[p] = hi
    c.assign([TopicPartition(OFFSETS, p, 0) for p in ends])
    offsets, groups, records = {}, {}, 0
    pos = {p: 0 for p in ends}
    deadline = time.time() + 60
    while any(pos[p] < ends[p] for p in ends):
        if time.time() > deadline:
            fail(f"decoder: topic not read to its end within 60 s: {pos} of {ends}")
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                continue
            fail(f"decoder: {m.error()}")
        p = m.partition()
        pos[p] = m.offset() + 1
        if m.offset() >= ends[p]:
            continue
        records += 1
        _, key = decode_key(m.key())
        group = key[1]
        want = (java_hash(group) & 0x7FFFFFFF) % n
        if p != want:
            fail(f"decoder: group {group!r} in partition {p}, Kafka puts it in {want}")
        if key[0] == "offset":
            tp = (key[2], key[3])
            if m.value() is None:
                offsets.get(group, {}).pop(tp, None)
            else:
                v = decode_offset_value(m.value())
                offsets.setdefault(group, {})[tp] = (v["offset"], v["metadata"])
        elif m.value() is None:
            groups.pop(group, None)
        else:
            groups[group] = decode_group_value(m.value())
    c.close()
    offsets = {g: o for g, o in offsets.items() if o}
    return {"partitions": n, "records": records, "offsets": offsets, "groups": groups}


def offset_fetch_all(boot, extra_groups=()):
    """OffsetFetch (all topics) for every listed group and `extra_groups`."""
    a = AdminClient({"bootstrap.servers": boot})
    listed = {g.group_id for g in a.list_consumer_groups(request_timeout=10).result(timeout=15).valid}
    out = {}
    for g in sorted(listed | set(extra_groups)):
        got = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(g)],
                                            request_timeout=10)[g].result(timeout=15)
        view = {(tp.topic, tp.partition): (tp.offset, tp.metadata or "")
                for tp in got.topic_partitions if tp.offset >= 0}
        if view:
            out[g] = view
    return out


def cmd_agree(boot, label):
    topic = read_offsets_topic(boot)
    if topic["partitions"] != 50:
        fail(f"{label}: __consumer_offsets has {topic['partitions']} partitions, expected 50")
    fetched = offset_fetch_all(boot, topic["offsets"].keys())
    if topic["offsets"] != fetched:
        for g in sorted(set(topic["offsets"]) | set(fetched)):
            a, b = topic["offsets"].get(g), fetched.get(g)
            if a != b:
                print(f"  group {g}: topic {a} vs OffsetFetch {b}")
        fail(f"{label}: __consumer_offsets and OffsetFetch disagree")
    ok(f"{label}: {topic['records']} records from offset 0 decode; latest offsets of "
       f"{len(fetched)} groups equal OffsetFetch")
    return topic


# --- clients ------------------------------------------------------------------


def create_topic(boot, name, partitions):
    a = AdminClient({"bootstrap.servers": boot})
    fut = a.create_topics([NewTopic(name, partitions, 1)])[name]
    fut.result(timeout=15)


def produce(boot, topic, partition, n):
    p = Producer({"bootstrap.servers": boot, "linger.ms": 5})
    errors = []
    for i in range(n):
        p.produce(topic, value=f"m{i}".encode(), partition=partition,
                  on_delivery=lambda e, m: errors.append(e) if e else None)
        p.poll(0)
    if p.flush(30) != 0 or errors:
        fail(f"produce to {topic}: {errors[:3]}")


def commit(boot, group, topic, partition, offset, metadata=None):
    c = Consumer({"bootstrap.servers": boot, "group.id": group, "enable.auto.commit": False})
    tp = TopicPartition(topic, partition, offset)
    if metadata is not None:
        tp.metadata = metadata
    got = c.commit(offsets=[tp], asynchronous=False)
    c.close()
    if not got or got[0].error:
        fail(f"commit {group} {topic}/{partition}={offset}: {got}")


def burrow_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return 0, {}


def wait_for(what, limit, probe):
    """Polls probe() (returns (done, detail)) every second up to limit s."""
    deadline = time.time() + limit
    detail = None
    while time.time() < deadline:
        done, detail = probe()
        if done:
            return detail
        time.sleep(1)
    fail(f"{what}: not within {limit} s (last: {detail})")


def cmd_burrow_lag(burrow, group, want, limit):
    def probe():
        code, body = burrow_get(f"{burrow}/consumer/{group}/lag")
        st = body.get("status") or {}
        return code == 200 and st.get("totallag") == want, (code, st.get("status"), st.get("totallag"))
    got = wait_for(f"Burrow lag of {group} = {want}", limit, probe)
    ok(f"Burrow shows group {group} with totallag {want} ({got})")


def cmd_burrow_gone(burrow, group, keep, limit):
    def probe():
        # Burrow 1.2.x purges an expired group lazily, when the group itself
        # is fetched (as a dashboard or lag check does), not when listing.
        burrow_get(f"{burrow}/consumer/{group}")
        _, body = burrow_get(f"{burrow}/consumer")
        listed = body.get("consumers") or []
        return group not in listed and keep in listed, listed
    got = wait_for(f"Burrow drops {group} and keeps {keep}", limit, probe)
    ok(f"Burrow no longer lists deleted group {group}; still lists {keep} ({got})")


def cmd_burrow_topic(burrow, topic, limit):
    def probe():
        code, body = burrow_get(f"{burrow}/topic/{topic}")
        offs = body.get("offsets") or []
        return code == 200 and len(offs) > 0, (code, offs)
    wait_for(f"Burrow knows topic {topic}", limit, probe)
    ok(f"Burrow's cluster module sees topic {topic}")


# --- protection -----------------------------------------------------------------


def cmd_protect(boot):
    before = read_offsets_topic(boot)["records"]
    # Metadata marks the offsets topic internal (kafka-python exposes it).
    admin = KafkaAdminClient(bootstrap_servers=boot, request_timeout_ms=10000)
    try:
        desc = admin.describe_topics([OFFSETS])[0]
        if not desc.get("is_internal") or len(desc["partitions"]) != 50:
            fail(f"Metadata of {OFFSETS}: {dict((k, desc.get(k)) for k in ('is_internal', 'error_code'))}, "
                 f"{len(desc['partitions'])} partitions")
    finally:
        admin.close()
    ok(f"Metadata: {OFFSETS} is internal with 50 partitions")

    # Produce from an ordinary client: INVALID_TOPIC_EXCEPTION (17).
    p = Producer({"bootstrap.servers": boot, "message.timeout.ms": 10000, "retries": 0})
    errs = []
    p.produce(OFFSETS, key=b"k", value=b"v", partition=0, on_delivery=lambda e, m: errs.append(e))
    p.flush(15)
    if len(errs) != 1 or errs[0] is None or errs[0].code() != KafkaError.TOPIC_EXCEPTION:
        fail(f"produce into {OFFSETS}: {errs}, expected INVALID_TOPIC_EXCEPTION")
    ok(f"produce into {OFFSETS}: {errs[0].name()} (17)")

    # Auto-creation never makes a `__` topic.
    p = Producer({"bootstrap.servers": boot, "message.timeout.ms": 4000})
    p.produce("__rokka_reserved_probe", value=b"v")
    p.flush(8)
    a = AdminClient({"bootstrap.servers": boot})
    topics = a.list_topics(timeout=10).topics
    if "__rokka_reserved_probe" in topics and not topics["__rokka_reserved_probe"].error:
        fail("a producer auto-created __rokka_reserved_probe")
    ok("no auto-creation of __rokka_reserved_probe")

    # Deleting the internal topic is refused; it keeps its 50 partitions.
    fut = a.delete_topics([OFFSETS], operation_timeout=10)[OFFSETS]
    try:
        fut.result(timeout=15)
        fail(f"DeleteTopics {OFFSETS} succeeded")
    except KafkaException as e:
        if e.args[0].code() != KafkaError.TOPIC_EXCEPTION:
            fail(f"DeleteTopics {OFFSETS}: {e}, expected INVALID_TOPIC_EXCEPTION")
        ok(f"DeleteTopics {OFFSETS}: {e.args[0].name()}")
    if len(a.list_topics(timeout=10).topics[OFFSETS].partitions) != 50:
        fail(f"{OFFSETS} changed after the refused delete")

    # Illegal names: INVALID_TOPIC_EXCEPTION, nothing created.
    bad = ["has space", "x" * 250, ".", "..", "slash/name", "perc%ent"]
    futs = a.create_topics([NewTopic(n, 1, 1) for n in bad], operation_timeout=10)
    for name, fut in futs.items():
        try:
            fut.result(timeout=15)
            fail(f"CreateTopics {name[:20]!r} succeeded")
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_EXCEPTION:
                fail(f"CreateTopics {name[:20]!r}: {e}, expected INVALID_TOPIC_EXCEPTION")
    topics = a.list_topics(timeout=10).topics
    made = [n for n in bad if n in topics]
    if made:
        fail(f"illegal names were created: {made}")
    ok(f"CreateTopics of {len(bad)} illegal names: INVALID_TOPIC_EXCEPTION each, none created")

    after = read_offsets_topic(boot)["records"]
    if after != before:
        fail(f"{OFFSETS} changed from {before} to {after} records during the protection checks")
    ok(f"{OFFSETS} unchanged by the refused requests ({after} records)")


# --- crash ------------------------------------------------------------------------


def cmd_crash_load(boot, out):
    """Commits a burst (each acknowledged) and writes the last acknowledged
    offset per (group, partition) to `out` for the check after SIGKILL."""
    acked = {}
    cs = {g: Consumer({"bootstrap.servers": boot, "group.id": g, "enable.auto.commit": False})
          for g in ("crash-a", "crash-b", "crash-c")}
    for i in range(1, 201):
        for g, c in cs.items():
            part = 0
            got = c.commit(offsets=[TopicPartition("burrow-kafka-t", part, i)], asynchronous=False)
            if got and not got[0].error:
                acked[f"{g}|burrow-kafka-t|{part}"] = i
    for c in cs.values():
        c.close()
    with open(out, "w") as f:
        json.dump(acked, f)
    ok(f"crash load: {len(acked)} partitions' commits acknowledged")


def cmd_verify_acked(boot, path):
    with open(path) as f:
        acked = json.load(f)
    fetched = offset_fetch_all(boot, {k.split("|")[0] for k in acked})
    lost = []
    for k, v in acked.items():
        g, t, p = k.split("|")
        got = fetched.get(g, {}).get((t, int(p)), (None,))[0]
        if got != v:
            lost.append((k, v, got))
    if lost:
        fail(f"acknowledged commits changed across SIGKILL: {lost[:5]}")
    ok(f"all {len(acked)} acknowledged commits survived SIGKILL")


def cmd_delete_group(boot, group):
    """DeleteGroups; exits 3 when the broker does not offer it."""
    a = AdminClient({"bootstrap.servers": boot})
    try:
        a.delete_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
    except KafkaException as e:
        if e.args[0].code() in (KafkaError._UNSUPPORTED_FEATURE, KafkaError.UNSUPPORTED_VERSION):
            print(f"DeleteGroups unsupported: {e}", flush=True)
            # os._exit: librdkafka asserts when the admin client is torn
            # down by the interpreter right after this error.
            os._exit(3)
        fail(f"DeleteGroups {group}: {e}")
    topic = read_offsets_topic(boot)
    if group in topic["offsets"] or group in topic["groups"]:
        fail(f"DeleteGroups {group}: the topic still holds it after the tombstones")
    ok(f"DeleteGroups {group}: tombstones written, the decoder no longer sees it")


def main():
    # boot is Burrow's base URL for the burrow-* commands.
    cmd, boot, *args = sys.argv[1:]
    if cmd == "agree":
        cmd_agree(boot, args[0])
    elif cmd == "protect":
        cmd_protect(boot)
    elif cmd == "create-topic":
        create_topic(boot, args[0], int(args[1]))
    elif cmd == "produce":
        produce(boot, args[0], int(args[1]), int(args[2]))
    elif cmd == "commit":
        commit(boot, args[0], args[1], int(args[2]), int(args[3]))
    elif cmd == "burrow-lag":
        cmd_burrow_lag(boot, args[0], int(args[1]), int(args[2]))
    elif cmd == "burrow-gone":
        cmd_burrow_gone(boot, args[0], args[1], int(args[2]))
    elif cmd == "burrow-topic":
        cmd_burrow_topic(boot, args[0], int(args[1]))
    elif cmd == "delete-group":
        cmd_delete_group(boot, args[0])
    elif cmd == "crash-load":
        cmd_crash_load(boot, args[0])
    elif cmd == "verify-acked":
        cmd_verify_acked(boot, args[0])
    elif cmd == "dump":
        t = read_offsets_topic(boot)
        print(json.dumps({"records": t["records"], "offsets": {g: {f"{k[0]}/{k[1]}": v for k, v in o.items()} for g, o in t["offsets"].items()}, "groups": list(t["groups"])}, indent=1))
    else:
        fail(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
