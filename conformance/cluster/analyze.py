"""Cluster suite verdicts, after the kills (the Kafka data topic itself is
checked by conformance/crash/check.py: 0 lost, 0 duplicated, offsets
contiguous). Reads, with confluent-kafka, the probe topic and the RocketMQ
topic from the beginning, and compares them, the RocketMQ consumer dumps
and the consumer-group logs with what the producers saw acknowledged:

- probe: every acknowledged record at its offset, no payload twice;
- RocketMQ sends: every acknowledged key present (read by Kafka and by a
  RocketMQ consumer), at the queue offset its SendResult named; a key
  stored twice is counted as a client-retry duplicate when the client had a
  failed attempt for it, and fails the run otherwise;
- Kafka data topic read by a RocketMQ consumer: every acknowledged record;
- consumer groups (both ecosystems): phase 1 (during the kills) and phase 2
  (the group restarted afterwards) together saw every acknowledged record;
  a record (queue/partition and offset: a key stored twice by a client
  retry is two records) delivered again in phase 1 must have been first
  delivered less than WINDOW s before the kill that preceded the
  redelivery (older ones were committed and should have survived); phase 2
  redelivers nothing
  phase 1 consumed (phase 1 closed cleanly, committing);
- failover time per master kill: from the kill to the first acknowledged
  record *sent after* the kill (probe for Kafka, sync sends for RocketMQ);
  p50 and max printed.

conformance/groups/run.sh runs it once per broker group: without the
RocketMQ consumer options (those checks are left out), and with
--failover-nodes naming that group's nodes (failover times of the kills of
those nodes only; every kill still bounds the redelivery windows).
"""
import argparse
import statistics
from collections import Counter, defaultdict

from confluent_kafka import Consumer, TopicPartition

ap = argparse.ArgumentParser()
ap.add_argument("--bootstrap", required=True)
ap.add_argument("--kills", required=True)
ap.add_argument("--probe-topic", required=True)
ap.add_argument("--probe", required=True)
ap.add_argument("--rmq-topic", required=True)
ap.add_argument("--rmq-load", required=True)
ap.add_argument("--kafka-acks", required=True)
ap.add_argument("--kafka-consumer", nargs=2, required=True)
ap.add_argument("--rmq-consumer", nargs=2)
ap.add_argument("--rmq-dump-kafka-topic")
ap.add_argument("--rmq-dump-rmq-topic")
ap.add_argument("--failover-nodes", type=lambda s: {int(n) for n in s.split(",")})
ap.add_argument("--window", type=float, default=3.0)
# RocketMQ consumers persist offsets every 5 s, and a commit taken by a master
# that dies before its offsets record replicated is lost with it (upstream
# syncs offsets to slaves every 10 s): a redelivery that old is RocketMQ's
# at-least-once, a group restarting from an older point is not.
ap.add_argument("--rmq-window", type=float, default=15.0)
a = ap.parse_args()

problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL:", msg)


def read_all(topic):
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": "cluster-analyze",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    md = c.list_topics(topic, timeout=20)
    parts = sorted(md.topics[topic].partitions)
    rows = []
    for part in parts:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, part), timeout=20)
        c.assign([TopicPartition(topic, part, lo)])
        got = 0
        while got < hi - lo:
            # consume() waits for the whole count or the timeout: ask for
            # what is left, so that a partition does not take 10 s.
            batch = c.consume(min(5000, hi - lo - got), timeout=10)
            if not batch:
                fail(f"{topic}[{part}]: read stalled at {got} of {hi - lo}")
                break
            for m in batch:
                if m.error():
                    continue
                rows.append((part, m.offset(), m.value().decode()))
                got += 1
    c.close()
    print(f"{topic}: {len(rows)} records read over {len(parts)} partitions")
    return rows


def lines(path):
    with open(path) as f:
        return [ln.split() for ln in f if ln.strip()]


kills = [(float(t), int(n), kind) for t, n, kind in lines(a.kills)]
master_kills = [k for k in kills if k[2].startswith("master")
                and (a.failover_nodes is None or k[1] in a.failover_nodes)]
last_kill = max((k[0] for k in kills), default=0)

# --- probe topic ---------------------------------------------------------
probe = lines(a.probe)
stored = read_all(a.probe_topic)
at = {(p, o): v for p, o, v in stored}
dups = [v for v, n in Counter(v for _, _, v in stored).items() if n > 1]
lost = [r for r in probe if at.get((int(r[2]), int(r[3]))) != r[4]]
print(f"probe: acked={len(probe)} lost_or_moved={len(lost)} duplicated={len(dups)}")
if lost:
    fail(f"probe: {len(lost)} acknowledged records not at their offsets, e.g. {lost[:3]}")
if dups:
    fail(f"probe: {len(dups)} payloads stored twice, e.g. {dups[:3]}")
if not any(float(r[0]) > last_kill for r in probe):
    fail("probe: no record acknowledged after the last kill")

# --- RocketMQ sends --------------------------------------------------------
acked, nacked = {}, Counter()
for r in lines(a.rmq_load):
    if r[0] == "ACK":
        acked[r[1]] = (int(r[2]), int(r[3]), int(r[5]) / 1000, int(r[6]) / 1000)
    elif r[0] == "NACK":
        nacked[r[1]] += 1
stored = read_all(a.rmq_topic)
at = {(p, o): v for p, o, v in stored}
count = Counter(v for _, _, v in stored)
lost = [k for k in acked if count[k] == 0]
moved = [k for k, (q, o, _, _) in acked.items() if count[k] and at.get((q, o)) != k]
dups = [k for k, n in count.items() if n > 1]
unexplained = [k for k in dups if nacked[k] == 0]
print(f"rocketmq sends: acked={len(acked)} failed_attempts={sum(nacked.values())} "
      f"lost={len(lost)} not_at_acked_offset={len(moved)} stored_twice={len(dups)} "
      f"(client retries {len(dups) - len(unexplained)}, without a failed attempt {len(unexplained)})")
if lost:
    fail(f"rocketmq: {len(lost)} acknowledged keys missing, e.g. {lost[:3]}")
if moved:
    fail(f"rocketmq: {len(moved)} acknowledged keys not at their queue offset, e.g. "
         f"{[(k, acked[k][:2]) for k in moved[:3]]}")
if unexplained:
    fail(f"rocketmq: {len(unexplained)} keys stored twice with no failed attempt, e.g. {unexplained[:3]}")
if not any(t[3] > last_kill for t in acked.values()):
    fail("rocketmq: no send acknowledged after the last kill")

# --- reads by a RocketMQ consumer ------------------------------------------
kafka_acked = {r[2] for r in lines(a.kafka_acks)}
for name, path, want in (("kafka topic", a.rmq_dump_kafka_topic, kafka_acked),
                         ("rocketmq topic", a.rmq_dump_rmq_topic, set(acked))):
    if path is None:
        continue
    got = {r[4] for r in lines(path) if r[0] == "GOT"}
    missing = want - got
    print(f"rocketmq consumer read of the {name}: {len(got)} distinct, missing acked={len(missing)}")
    if missing:
        fail(f"rocketmq consumer read of the {name}: {len(missing)} acknowledged missing, "
             f"e.g. {sorted(missing)[:3]}")


# --- consumer groups ---------------------------------------------------------
def group_check(name, phase1, phase2, want, window):
    # A delivery is identified by where the record is stored (queue or
    # partition, offset): a key a client retry stored twice is two records,
    # each delivered once, not a redelivery.
    first, late, redelivered = {}, [], 0
    for t, where, payload in phase1:
        if where not in first:
            first[where] = t
            continue
        redelivered += 1
        before = [k[0] for k in kills if k[0] <= t]
        ref = max(before) if before else t
        if first[where] < ref - window:
            late.append((payload, round(ref - first[where], 2)))
    again = [p for _, w, p in phase2 if w in first]
    seen = {p for _, _, p in phase1} | {p for _, _, p in phase2}
    missing = want - seen
    stalled = not any(t > last_kill for t, _, _ in phase1)
    print(f"{name} group: phase1 {len(phase1)} deliveries ({redelivered} again, "
          f"{len(late)} older than the kill by more than {window} s), phase2 {len(phase2)} "
          f"({len(again)} already consumed in phase 1), missing acked={len(missing)}")
    if late:
        fail(f"{name} group: {len(late)} records redelivered although consumed long before "
             f"the kill (committed), e.g. {late[:3]}")
    if again:
        # How long before phase 1's last delivery each was first delivered:
        # near 0 points at the consumer's shutdown, more at a lost commit.
        end = max((t for t, _, _ in phase1), default=0)
        ages = [(p, round(end - first[w], 2)) for _, w, p in phase2 if w in first]
        fail(f"{name} group: restart redelivered {len(again)} records consumed before "
             f"(seconds before phase 1's last delivery), e.g. {ages[:3]}")
    if missing:
        fail(f"{name} group: {len(missing)} acknowledged records never delivered, e.g. {sorted(missing)[:3]}")
    if stalled:
        fail(f"{name} group: nothing consumed after the last kill")


def kafka_rows(path):
    return [(int(r[0]) / 1000, (r[1], r[2]), r[3]) for r in lines(path)]


def rmq_rows(path):
    return [(int(r[1]) / 1000, (r[2], r[3]), r[4]) for r in lines(path) if r[0] == "GOT"]


group_check("kafka", kafka_rows(a.kafka_consumer[0]), kafka_rows(a.kafka_consumer[1]), kafka_acked,
            a.window)
if a.rmq_consumer:
    group_check("rocketmq", rmq_rows(a.rmq_consumer[0]), rmq_rows(a.rmq_consumer[1]), set(acked),
                a.rmq_window)


# --- failover times ----------------------------------------------------------
def failover(acks):
    out = []
    for t, node, kind in master_kills:
        after = [done for sent, done in acks if sent >= t]
        out.append((node, kind, min(after) - t if after else None))
    return out


kafka_fo = failover([(float(r[0]), float(r[1])) for r in probe])
rmq_fo = failover([(s, d) for _, _, s, d in acked.values()])
for name, fo in (("kafka acks=all (probe)", kafka_fo), ("rocketmq sync send", rmq_fo)):
    for i, (node, kind, dt) in enumerate(fo, 1):
        print(f"  {name}: kill {i} node {node} ({kind}): "
              + (f"{dt:.2f} s" if dt is not None else "no acknowledgement afterwards"))
    done = [dt for _, _, dt in fo if dt is not None]
    if len(done) < len(fo):
        fail(f"{name}: {len(fo) - len(done)} kills never followed by an acknowledgement")
    if done:
        print(f"FAILOVER {name}: {len(done)} master kills, p50 {statistics.median(done):.2f} s, "
              f"max {max(done):.2f} s")

print(f"{len(master_kills)} master kills "
      f"({sum(k[2] == 'master+leader' for k in master_kills)} also Raft leader), "
      f"{len(kills) - len(master_kills)} other kills")
if problems:
    raise SystemExit(1)
print("OK")
