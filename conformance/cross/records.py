"""The Kafka records of scenario 2 (Kafka producers -> RocketMQ readers).

Every producer sends the same shapes, partition = i % 4:
  keys: null, single word, several space-separated words (some with a
        `qk-<producer>` word that query-by-key looks up), non-UTF-8;
  headers: `cid` (record id), `src`, `TAGS` TagA/TagB/TagC or none, two
        `TAGS` headers, a duplicated name, a non-UTF-8 value, an empty and
        a null value, a header named `KEYS`, non-ASCII UTF-8;
  values: text, binary, 2-8 KiB compressible text, a tombstone (last one).

  records.py plan PRODUCER COUNT OUT   the records as JSON lines (for sarama)
  records.py kcat COUNT DIR            kcat input files (one per partition,
                                       "key<TAB>value" lines) + manifest-kcat.jsonl
"""
import json
import os
import random
import sys

PARTITIONS = 4
KCAT_TAGS = ["TagA", "TagB", "TagC", None]


def h(b):
    return None if b is None else b.hex()


def record(producer, i, count):
    rnd = random.Random(f"{producer}/{i}")
    if i % 6 == 0:
        key = None
    elif i % 30 == 1:
        key = f"{producer}-{i} qk-{producer} alt".encode()
    elif i % 6 == 1:
        key = f"{producer}-{i} multi word".encode()
    elif i % 17 == 4:
        key = b"\xff\xfe-binkey-%d" % i
    else:
        key = f"{producer}-{i}".encode()
    headers = [("cid", f"{producer}:{i}".encode()), ("src", producer.encode())]
    tag = ["TagA", "TagB", "TagC", None][i % 4]
    if i % 50 == 8:
        headers += [("TAGS", b"TagA"), ("TAGS", b"TagC")]  # the last one counts
    elif tag:
        headers.append(("TAGS", tag.encode()))
    if i % 10 == 5:
        headers += [("dup", b"first"), ("dup", b"second")]
    if i % 10 == 6:
        headers.append(("bin", b"\xff\xfe\x00"))
    if i % 10 == 7:
        headers.append(("empty", b""))
    if i % 20 == 7:
        headers.append(("nullh", None))
    if i % 25 == 9:
        headers.append(("KEYS", b"bogus"))
    if i % 7 == 3:
        headers.append(("uni", "ü 日本 x=y".encode()))
    if i == count - 1:
        value = None  # tombstone
    elif i % 9 == 2:
        value = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300)))
    elif i % 23 == 11:
        words = ["kafka ", "rocket ", "batch ", "zstd ", "\u00e9t\u00e9 "]
        n = rnd.randrange(2000, 8000)
        value = "".join(rnd.choice(words) for _ in range(n // 5)).encode()[:n]
    else:
        value = f"{producer}-value-{i}-".encode() + bytes(rnd.choice(b"abcdefgh") for _ in range(rnd.randrange(0, 120)))
    return {"producer": producer, "partition": i % PARTITIONS, "offset": None, "ts": None,
            "key_hex": h(key), "value_hex": h(value),
            "headers": [[n.encode().hex(), h(v)] for n, v in headers]}


def plan(producer, count, out):
    with open(out, "w", encoding="utf-8") as f:
        for i in range(count):
            f.write(json.dumps(record(producer, i, count)) + "\n")


def kcat(count, d):
    """kcat sends one header set per invocation: one invocation per
    partition, with `TAGS` = KCAT_TAGS[partition]. Values are unique text
    (kcat records are matched by value)."""
    files = {p: open(os.path.join(d, f"kcat-p{p}.txt"), "w", encoding="utf-8") for p in range(PARTITIONS)}
    with open(os.path.join(d, "manifest-kcat.jsonl"), "w", encoding="utf-8") as m:
        for i in range(count):
            p = i % PARTITIONS
            key = f"kcat-{i} qk-kcat alt" if i % 30 == 1 else (f"kcat-{i} multi word" if i % 6 == 1 else f"kcat-{i}")
            value = f"kcat-value-{i}-" + "x" * (i % 50)
            files[p].write(f"{key}\t{value}\n")
            headers = [("src", b"kcat")] + ([("TAGS", KCAT_TAGS[p].encode())] if KCAT_TAGS[p] else [])
            m.write(json.dumps({"producer": "kcat", "partition": p, "offset": None, "ts": None,
                                "key_hex": key.encode().hex(), "value_hex": value.encode().hex(),
                                "headers": [[n.encode().hex(), v.hex()] for n, v in headers]}) + "\n")
    for f in files.values():
        f.close()


if __name__ == "__main__":
    if sys.argv[1] == "plan":
        plan(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "kcat":
        kcat(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
