"""Helpers of the compaction suite (stdlib + Debian python3-kafka only).

  check.py create ADDR TOPIC key=value...   create a 1-partition topic with configs
  check.py produce N SEED                   print N "key<TAB>value" lines (kcat -K'\t'),
                                            every 7th an empty value (a tombstone with -Z)
  check.py expect FILE                      from the produced lines (offset = line
                                            number + FIRST), print "offset|key|len|value"
                                            of the latest record per key
  check.py compact HTTP                     POST /admin/compact, print the answer
  check.py rocketmq EXPECTED FILE.jsonl     the messages a RocketMQ consumer got (the
                                            suite's rocketmq-client-rust `cross consume`
                                            lines) are exactly the expected survivors:
                                            queue offset, KEYS and body of each
"""
import json
import sys
import urllib.request


def create(addr, topic, configs):
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=20000)
    cfg = dict(kv.split("=", 1) for kv in configs)
    admin.create_topics([NewTopic(topic, 1, 1, topic_configs=cfg)])
    admin.close()


def produce(n, seed):
    for i in range(n):
        key = "k%d" % ((i * 7 + seed) % 5)
        value = "" if i % 7 == 3 else "v%d-%d" % (seed, i)
        print("%s\t%s" % (key, value))


def expect(path, first):
    latest = {}
    with open(path) as f:
        for i, line in enumerate(f):
            key, value = line.rstrip("\n").split("\t", 1)
            latest[key] = (first + i, value)
    for key, (off, value) in sorted(latest.items(), key=lambda kv: kv[1][0]):
        if value == "":
            print("%d|%s|-1|" % (off, key))
        else:
            print("%d|%s|%d|%s" % (off, key, len(value), value))


def compact(http):
    req = urllib.request.Request("http://%s/admin/compact" % http, method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        print(r.read().decode().strip())


def rocketmq(expected_path, got_path):
    want = set()
    with open(expected_path) as f:
        for line in f:
            off, key, _size, value = line.rstrip("\n").split("|", 3)
            want.add((int(off), key, value.encode().hex()))
    got = set()
    with open(got_path) as f:
        for line in f:
            m = json.loads(line)
            got.add((m["offset"], m["props"].get("KEYS", ""), m["body_hex"]))
    if got != want:
        print("missing: %s" % sorted(want - got)[:10])
        print("unexpected: %s" % sorted(got - want)[:10])
        sys.exit(1)
    print("%d messages, the latest per key at their Kafka offsets" % len(got))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "create":
        create(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "produce":
        produce(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "expect":
        expect(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    elif cmd == "compact":
        compact(sys.argv[2])
    elif cmd == "rocketmq":
        rocketmq(sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown command " + cmd)
