"""Compares what each client received with what was produced (run by data.sh).

Records are JSON lines. Kafka readers write the canonical form
    {"partition", "offset", "key_hex"|null, "value_hex"|null, "ts",
     "headers": [[name_hex, value_hex|null], ...]}
(kcat output is converted to it by `kcat`). RocketMQ readers write the lines
of `cross.rs` (`record_line`). Expectations follow docs/mapping.md.

  check.py kcat RAW OUT                      kcat -f output -> canonical
  check.py rmq2kafka MANIFEST DUMP CLIENT    scenario 1, one Kafka reader
  check.py kafka-expect DIR EXPR             prints "<all> <tagged> <words>"
  check.py kafka2rmq DIR EXPR                scenario 2, every RocketMQ reader

Exit status 1 with a FAIL line naming the first mismatch.
"""
import json
import os
import sys

# Properties the RocketMQ client itself adds to consumed messages (pull
# offsets, consume start time); not part of the stored message.
CLIENT_ADDED = {"MIN_OFFSET", "MAX_OFFSET", "CONSUME_START_TIME"}


def fail(scenario, msg):
    print(f"FAIL {scenario}: {msg}")
    sys.exit(1)


def jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def unhex(h):
    return None if h is None else bytes.fromhex(h)


def show(b, limit=60):
    if b is None:
        return "null"
    r = repr(b[:limit])
    return r + ("..." if len(b) > limit else "") + f" ({len(b)} bytes)"


# --- kcat output ---------------------------------------------------------------

def kcat(raw_path, out_path):
    """Parses `-f '%p|%o|%K|%S|%T|%h\\n%k%s\\n'`: lengths make key and value
    binary-safe; headers (n=v CSV, not escaped) come last on the first line,
    so only header values containing ',' or a newline are ambiguous (the
    produced headers have none)."""
    data = open(raw_path, "rb").read()
    pos, out = 0, []
    while pos < len(data):
        nl = data.index(b"\n", pos)
        head = data[pos:nl].decode("utf-8")
        p, o, klen, vlen, ts, hdrs = head.split("|", 5)
        klen, vlen = int(klen), int(vlen)
        pos = nl + 1
        key = data[pos:pos + max(klen, 0)] if klen >= 0 else None
        pos += max(klen, 0)
        value = data[pos:pos + max(vlen, 0)] if vlen >= 0 else None
        pos += max(vlen, 0)
        if data[pos:pos + 1] != b"\n":
            raise ValueError(f"kcat output out of step at byte {pos}")
        pos += 1
        headers = []
        for item in hdrs.split(",") if hdrs else []:
            name, _, val = item.partition("=")
            headers.append([name.encode().hex(), val.encode().hex()])
        out.append({"partition": int(p), "offset": int(o),
                    "key_hex": None if key is None else key.hex(),
                    "value_hex": None if value is None else value.hex(),
                    "ts": int(ts), "headers": headers})
    with open(out_path, "w", encoding="utf-8") as f:
        for r in out:
            f.write(json.dumps(r) + "\n")


# --- scenario 1: RocketMQ producer -> Kafka readers ----------------------------

def rmq2kafka(manifest_path, dump_path, client):
    scen = f"rocketmq-to-kafka/{client}"
    want = {(m["queue"], m["offset"]): m for m in jsonl(manifest_path)}
    got = jsonl(dump_path)
    seen = set()
    last = {}
    for r in got:
        pos = (r["partition"], r["offset"])
        if pos in seen:
            fail(scen, f"record {pos} delivered twice")
        seen.add(pos)
        if r["offset"] <= last.get(r["partition"], -1):
            fail(scen, f"partition {r['partition']}: offset {r['offset']} after {last[r['partition']]}")
        last[r["partition"]] = r["offset"]
        m = want.get(pos)
        if m is None:
            fail(scen, f"unexpected record at partition/offset {pos}")
        key = unhex(r["key_hex"])
        want_key = None if m["keys"] is None else m["keys"].encode()
        if key != want_key:
            fail(scen, f"{pos} (message {m['i']}): key {show(key)}, want {show(want_key)}")
        value = unhex(r["value_hex"])
        if value != bytes.fromhex(m["body_hex"]):
            fail(scen, f"{pos} (message {m['i']}): value {show(value)}, want {show(bytes.fromhex(m['body_hex']))}")
        headers = sorted((bytes.fromhex(n).decode("utf-8", "replace"),
                          unhex(v).decode("utf-8", "replace") if v is not None else None)
                         for n, v in r["headers"])
        want_h = dict(m["props"])
        want_h["UNIQ_KEY"] = m["uniq"]
        if m["tags"] is not None:
            want_h["TAGS"] = m["tags"]
        if headers != sorted(want_h.items()):
            fail(scen, f"{pos} (message {m['i']}): headers {headers}, want {sorted(want_h.items())}")
        if not m["t0"] <= r["ts"] <= m["t1"]:
            fail(scen, f"{pos} (message {m['i']}): timestamp {r['ts']} outside the send window [{m['t0']}, {m['t1']}]")
    missing = sorted(set(want) - seen)
    if missing:
        fail(scen, f"{len(missing)} of {len(want)} records missing, first {missing[:5]}")
    big = sum(1 for m in want.values() if len(m["body_hex"]) >= 2 * 4096)
    print(f"PASS {scen} ({len(got)} records, {big} compressed bodies inflated, "
          f"keys/headers/values/timestamps exact, per-partition order kept)")


# --- scenario 2: Kafka producers -> RocketMQ readers ---------------------------

def load_kafka_manifests(d):
    """Every manifest-*.jsonl in d: {producer, partition, offset|null, key_hex,
    value_hex, ts|null, headers}. kcat records have no offset: they are
    matched by value and their offsets must grow in produce order."""
    recs = []
    for name in sorted(os.listdir(d)):
        if name.startswith("manifest-") and name.endswith(".jsonl"):
            recs.extend(jsonl(os.path.join(d, name)))
    return recs


def rmq_view(rec):
    """The RocketMQ view of a Kafka record per docs/mapping.md: (properties,
    body)."""
    props = {}
    for n_hex, v_hex in rec["headers"]:
        name, value = bytes.fromhex(n_hex), unhex(v_hex)
        if not value:
            continue  # null or empty value: dropped
        try:
            name_s, value_s = name.decode("utf-8"), value.decode("utf-8")
        except UnicodeDecodeError:
            continue  # not UTF-8: dropped
        if any(c in s for s in (name_s, value_s) for c in "\x01\x02"):
            continue
        if name_s == "KEYS":
            continue  # the record key is KEYS
        props[name_s] = value_s  # duplicates: RocketMQ readers see the last
    key = unhex(rec["key_hex"])
    if key:
        try:
            k = key.decode("utf-8")
            if "\x01" not in k and "\x02" not in k:
                props["KEYS"] = k
        except UnicodeDecodeError:
            pass
    return props, unhex(rec["value_hex"]) or b""


def tag_set(expr):
    return {t.strip() for t in expr.split("||") if t.strip()}


def query_words(recs):
    """Key words that name a few records each (`qk-*`) and a few single
    records that are not first in their batch."""
    words = set()
    for r in recs:
        key = unhex(r["key_hex"])
        for w in (key or b"").decode("utf-8", "replace").split(" "):
            if w.startswith("qk-") or w.endswith(("-57", "-158", "-199")):
                words.add(w)
    return sorted(words)


def kafka_expect(d, expr):
    recs = load_kafka_manifests(d)
    tags = tag_set(expr)
    tagged = sum(1 for r in recs if rmq_view(r)[0].get("TAGS") in tags)
    print(len(recs), tagged, ",".join(query_words(recs)))


def resolve(recs, consumed, scen):
    """Maps every manifest record to its (queue, offset) using the records a
    complete reader got (offsets for kcat records come from there)."""
    by_body = {}
    for pos, line in consumed.items():
        by_body.setdefault(line["body_hex"], []).append(pos)
    out, last_kcat = [], {}
    for r in recs:
        if r["offset"] is not None:
            out.append(((r["partition"], r["offset"]), r))
            continue
        cands = by_body.get(r["value_hex"] or "", [])
        if len(cands) != 1:
            fail(scen, f"kcat record {show(unhex(r['value_hex']))} found {len(cands)} times")
        pos = cands[0]
        if pos[0] != r["partition"]:
            fail(scen, f"kcat record {show(unhex(r['value_hex']))} in queue {pos[0]}, produced to {r['partition']}")
        if pos[1] <= last_kcat.get(pos[0], -1):
            fail(scen, f"kcat records out of produce order in queue {pos[0]}")
        last_kcat[pos[0]] = pos[1]
        out.append((pos, r))
    return out


# Properties a redelivery through %RETRY%<group> carries besides the
# original ones (set by the broker's or the client's send-back).
RETRY_ADDED = CLIENT_ADDED | {"RETRY_TOPIC", "ORIGIN_MESSAGE_ID", "RECONSUME_TIME",
                              "MAX_RECONSUME_TIMES", "UNIQ_KEY", "WAIT", "CLUSTER",
                              "DELAY", "REAL_TOPIC", "REAL_QID"}


def identity(props, body_hex):
    """How a record is recognised in a redelivery: its `cid` header, else
    its body (kcat records, whose bodies are unique)."""
    return "cid:" + props["cid"] if "cid" in props else "body:" + body_hex


def check_reader(scen, lines, expected, topic):
    """lines: one reader's deliveries; expected: {(queue, offset): record}.
    A record the client sent back before the listener saw it (see
    FINDINGS.md) arrives only as a %RETRY% redelivery: it is matched by
    identity and its body and original properties are checked. Returns the
    number of records seen only that way."""
    first, retried = {}, {}
    for line in lines:
        if line["reconsume"] == 0:
            first.setdefault((line["queue"], line["offset"]), line)
        else:
            retried.setdefault(identity(line["props"], line["body_hex"]), line)
    extra = sorted(set(first) - set(expected))
    if extra:
        fail(scen, f"{len(extra)} unexpected messages, first at (queue, offset) {extra[0]}: "
                   f"props {first[extra[0]]['props']}")
    by_identity = {}
    for pos, r in expected.items():
        props, body = rmq_view(r)
        by_identity[identity(props, body.hex())] = pos
    unknown = [i for i in retried if i not in by_identity]
    if unknown:
        fail(scen, f"{len(unknown)} redeliveries of unknown records, first {unknown[0][:80]}")
    via_retry = 0
    for pos, r in expected.items():
        if pos in first:
            compare(scen, pos, first[pos], r, topic)
            continue
        props, body = rmq_view(r)
        line = retried.get(identity(props, body.hex()))
        if line is None:
            missing = sorted(p for p in expected if p not in first
                             and identity(*map_view(expected[p])) not in retried)
            fail(scen, f"{len(missing)} of {len(expected)} messages missing, first {missing[:5]}")
        via_retry += 1
        what = f"{r['producer']} record at (queue, offset) {pos}, redelivered"
        got = {k: v for k, v in line["props"].items() if k not in RETRY_ADDED or k in props}
        if got != props:
            fail(scen, f"{what}: properties {sorted(got.items())}, want {sorted(props.items())}")
        if bytes.fromhex(line["body_hex"]) != body:
            fail(scen, f"{what}: body {show(bytes.fromhex(line['body_hex']))}, want {show(body)}")
    return via_retry


def map_view(rec):
    props, body = rmq_view(rec)
    return props, body.hex()


def compare(scen, pos, line, rec, topic):
    props, body = rmq_view(rec)
    got = {k: v for k, v in line["props"].items() if k not in CLIENT_ADDED}
    what = f"{rec['producer']} record at (queue, offset) {pos}"
    if line["topic"] != topic:
        fail(scen, f"{what}: topic {line['topic']}")
    if got != props:
        fail(scen, f"{what}: properties {sorted(got.items())}, want {sorted(props.items())}")
    if bytes.fromhex(line["body_hex"]) != body:
        fail(scen, f"{what}: body {show(bytes.fromhex(line['body_hex']))}, want {show(body)}")
    if rec["ts"] is not None and line["born"] != rec["ts"]:
        fail(scen, f"{what}: bornTimestamp {line['born']}, want record timestamp {rec['ts']}")
    if line["sys_flag"] & 1:
        fail(scen, f"{what}: sysFlag {line['sys_flag']:#x} marks the body compressed")


def kafka2rmq(d, expr, topic):
    recs = load_kafka_manifests(d)
    push = jsonl(os.path.join(d, "push.jsonl"))
    lite = jsonl(os.path.join(d, "lite.jsonl"))
    # The lite pull consumer never redelivers: its view places kcat records
    # (no offsets from kcat) and gives the message ids to view.
    lite_first = {(l["queue"], l["offset"]): l for l in lite if l["reconsume"] == 0}
    expected = dict(resolve(recs, lite_first, "kafka-to-rocketmq/lite"))
    if len(expected) != len(recs):
        fail("kafka-to-rocketmq", f"{len(recs)} produced records map to {len(expected)} positions")
    codecs = sorted({r["producer"] for r in recs})
    for reader in ("push", "lite"):
        lines = push if reader == "push" else lite
        via_retry = check_reader(f"kafka-to-rocketmq/{reader}", lines, expected, topic)
        print(f"PASS kafka-to-rocketmq/{reader} ({len(expected)} messages from {', '.join(codecs)}; "
              f"keys, tags, properties, bodies, bornTimestamp exact; {via_retry} seen only as "
              f"%RETRY% redeliveries)")
    tags = tag_set(expr)
    tagged = {p: r for p, r in expected.items() if rmq_view(r)[0].get("TAGS") in tags}
    for reader in ("push-tag", "lite-tag"):
        via_retry = check_reader(f"kafka-to-rocketmq/{reader} '{expr}'", jsonl(os.path.join(d, f"{reader}.jsonl")),
                     tagged, topic)
        print(f"PASS kafka-to-rocketmq/{reader} ('{expr}': exactly the {len(tagged)} "
              f"of {len(expected)} records whose TAGS header matches; {via_retry} seen only "
              f"as %RETRY% redeliveries)")

    # Query by key: every record whose key words hold the word, nothing else.
    for q in jsonl(os.path.join(d, "query.jsonl")):
        scen = f"kafka-to-rocketmq/query-by-key '{q['word']}'"
        want = {p for p, r in expected.items()
                if q["word"] in (rmq_view(r)[0].get("KEYS") or "").split(" ")}
        if "error" in q:
            fail(scen, f"client error {q['error']} (want {len(want)} messages)")
        got = {(m["queue"], m["offset"]): m for m in q["results"]}
        if set(got) != want:
            fail(scen, f"found {sorted(got)}, want {sorted(want)}")
        for p, m in got.items():
            compare(scen, p, m, expected[p], topic)
    print(f"PASS kafka-to-rocketmq/query-by-key ({len(jsonl(os.path.join(d, 'query.jsonl')))} key words, "
          f"each finds exactly its records)")

    # Message ids: one per record, and viewing it returns that record.
    ids = {}
    for p, line in lite_first.items():
        ids.setdefault(line["msg_id"], []).append(p)
    shared = {i: ps for i, ps in ids.items() if len(ps) > 1}
    views = jsonl(os.path.join(d, "view.jsonl"))
    wrong = []
    for v in views:
        p = (v["queue"], v["offset"])
        if "error" in v:
            wrong.append(f"id {v['id']} of {p}: error {v['error']}")
            continue
        vp = (v["viewed"]["queue"], v["viewed"]["offset"])
        if vp != p:
            wrong.append(f"id {v['id']} of {p} returned the record at {vp}")
            continue
        compare("kafka-to-rocketmq/view-by-id", p, v["viewed"], expected[p], topic)
    if shared or wrong or len(views) != len(expected):
        eg = next(iter(shared.items()), None)
        eg = f" (e.g. {eg[0]} by {len(eg[1])} records from {eg[1][0]})" if eg else ""
        fail("kafka-to-rocketmq/view-by-id",
             f"{len(views)} ids viewed for {len(expected)} records; {len(ids)} distinct ids, "
             f"{len(shared)} shared by several records{eg}; "
             f"{len(wrong)} resolve to another record or fail (first: {wrong[:1]})")
    print(f"PASS kafka-to-rocketmq/view-by-id ({len(ids)} distinct ids, each views its own record)")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "kcat":
        kcat(*args)
    elif cmd == "rmq2kafka":
        rmq2kafka(*args)
    elif cmd == "kafka-expect":
        kafka_expect(*args)
    elif cmd == "kafka2rmq":
        kafka2rmq(*args)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
