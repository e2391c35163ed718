"""Consumer groups that change ecosystem, and mixed live groups, against a
real rokka with real clients (run by groups.sh).

usage: groups.py <kafka addr> <namesrv addr> <remoting addr> <rocketmq client binary> <work dir>

A confluent-kafka producer sends `<tag>:<seq>` at a steady rate to
partition seq % 4 of a 4-partition topic during every scenario; every
delivery is recorded as (ecosystem, partition/queue, offset, seq).

1. rocketmq->kafka: a rocketmq-client-rust push consumer in G, then (after a
   clean shutdown) two confluent-kafka consumers in G.
2. kafka->rocketmq: a confluent-kafka consumer in G (auto-commit, close()),
   then a push consumer in G with CONSUME_FROM_LAST_OFFSET.
3a. mixed, RocketMQ owns G: a Kafka JoinGroup gets INCONSISTENT_GROUP_PROTOCOL,
   a Kafka commit gets UNKNOWN_MEMBER_ID, then Kafka takes over.
3b. mixed, Kafka owns G: the push consumer gets no queues, a RocketMQ
   UPDATE_CONSUMER_OFFSET is refused, then RocketMQ takes over.

The uncommitted window bound is 0 for both directions; why is in
GROUPS-FINDINGS.md ("The window"): the push consumer runs one consume worker
and waits for the delivery in progress before its shutdown persists the
offsets; confluent-kafka commits exactly what it delivered (synchronous
commit per message, or the stored offsets committed by close()).
"""
import os
import sys
import time

from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient, NewTopic

import groups_lib as g

KAFKA, NS, REMOTING, CLIENT, WORK = sys.argv[1:6]
RATE = 100          # messages per second, 25 per partition
WINDOW_BOUND = 0    # see the module doc and GROUPS-FINDINGS.md
# Seconds from the owner's exit to the newcomer's first delivery. Kafka
# newcomer: librdkafka's join retry (about 1 s backoff) plus a join round.
# RocketMQ newcomer: its next heartbeat (every 10 s, the client's minimum)
# registers it, then a rebalance (broker notification, or every 2 s) and a pull.
KAFKA_TAKEOVER_BOUND = 10.0
ROCKETMQ_TAKEOVER_BOUND = 15.0
DRAIN = 45          # seconds to consume everything after the producer stops


def log(msg):
    print(f"[cross-groups] {msg}", flush=True)


def create_topics(names):
    admin = AdminClient({"bootstrap.servers": KAFKA})
    fs = admin.create_topics([NewTopic(n, num_partitions=g.PARTITIONS, replication_factor=1)
                              for n in names], operation_timeout=10)
    for name, f in fs.items():
        f.result(15)


# GROUPS_RMQ_CLIENT_DEFAULTS=1 runs the push consumers with the client's
# default consume workers and shutdown wait, for which the window bound of 0
# does not hold (an experiment, see GROUPS-FINDINGS.md; not for CI).
CLIENT_DEFAULTS = os.environ.get("GROUPS_RMQ_CLIENT_DEFAULTS") == "1"


def rocketmq(topic, group, start_from, name, tag):
    return g.RocketMQConsumer(CLIENT, NS, topic, group, start_from, WORK, name, tag,
                              client_defaults=CLIENT_DEFAULTS)


def produced_all_consumed(prod, consumers_deliveries):
    def done():
        got = {(d.part, d.off) for d in consumers_deliveries()}
        return len(prod.acked) >= prod.sent and all(po in got for po in prod.acked.values())
    return done


def finish(name, problems, extra=""):
    if problems:
        log(f"FAIL {name}: " + "; ".join(problems[:8]))
        return False
    log(f"PASS {name} {extra}".rstrip())
    return True


def fmt_window(w):
    return ",".join(f"p{p}={n}" for p, n in sorted(w.items()))


# --- 1. RocketMQ -> Kafka ------------------------------------------------------
def rocketmq_to_kafka():
    name, topic, group, tag = "rocketmq-to-kafka", "grp-r2k", "grp-r2k-g", "r2k"
    problems = []
    prod = g.SteadyProducer(KAFKA, topic, tag, RATE).start()
    rc = rocketmq(topic, group, "first", "r2k-rocketmq", tag)
    kcs = []
    try:
        if not rc.wait_started():
            return finish(name, [f"push consumer did not start: {rc.log_tail()}"])
        # Consume for a while: several periodic offset persists (1 s).
        g.wait_for(lambda: len(rc.deliveries()) >= 400, 30)
        time.sleep(1.5)
        clean, ms = rc.stop("stopfile")
        first = rc.deliveries()
        if not clean:
            problems.append(f"push consumer shutdown not clean: {rc.log_tail()}")
        committed = g.kafka_committed(KAFKA, group, topic)
        rem = g.Remoting(REMOTING)
        queried = rem.query_offsets(group, topic)
        rem.close()
        log(f"{name}: RocketMQ phase {len(first)} deliveries, shutdown {ms} ms; "
            f"committed (OffsetFetch) {committed}, QUERY_CONSUMER_OFFSET {queried}")
        if committed != queried:
            problems.append(f"OffsetFetch {committed} != QUERY_CONSUMER_OFFSET {queried}")
        if rc.retried():
            problems.append(f"push consumer saw redeliveries: {rc.retried()[:3]}")
        # Two Kafka members; the second joins while the first is consuming.
        kcs.append(g.KafkaGroupConsumer(KAFKA, group, topic, "r2k-k1", tag, "sync"))
        g.poll_all(kcs, 2)
        kcs.append(g.KafkaGroupConsumer(KAFKA, group, topic, "r2k-k2", tag, "sync"))
        g.poll_all(kcs, 4)
        prod.stop()
        def second():
            return [d for k in kcs for d in k.got]

        if not g.poll_all(kcs, DRAIN, produced_all_consumed(prod, lambda: first + second())):
            problems.append("the Kafka phase did not consume everything in time")
        for k in kcs:
            k.close()
        deliveries = first + second()
        if prod.errors:
            problems.append(f"producer errors {prod.errors[:3]}")
        g.check_content(prod.acked, deliveries, problems)
        g.dump(f"{WORK}/{name}.deliveries.jsonl", deliveries)
        g.check_no_loss(name, prod.acked, deliveries, problems)
        allowed = set().union(*(k.uncommitted for k in kcs))
        window = g.check_handover(name, prod.acked, first, second(), committed, WINDOW_BOUND,
                                  problems, allowed)
        members = {k.name: len(k.got) for k in kcs}
        kafka_keys = [(d.part, d.off) for d in second()]
        redelivered = len(kafka_keys) - len(set(kafka_keys))
        for k in kcs:
            if k.errors:
                log(f"{name}: {k.name} errors: {[str(e) for e in k.errors[:3]]}")
        return finish(name, problems,
                      f"(produced {len(prod.acked)}, RocketMQ {len(first)}, Kafka {members}, "
                      f"window {fmt_window(window)} <= {WINDOW_BOUND}, "
                      f"commits refused in rebalance {len(allowed)}, of those re-delivered {redelivered})")
    finally:
        prod.stop()
        rc.kill()
        for k in kcs:
            k.close()


# --- 2. Kafka -> RocketMQ ------------------------------------------------------
def kafka_to_rocketmq():
    name, topic, group, tag = "kafka-to-rocketmq", "grp-k2r", "grp-k2r-g", "k2r"
    problems = []
    prod = g.SteadyProducer(KAFKA, topic, tag, RATE).start()
    kc = g.KafkaGroupConsumer(KAFKA, group, topic, "k2r-k1", tag, "auto")
    rc = None
    try:
        g.poll_all([kc], 30, lambda: len(kc.got) >= 400)
        g.poll_all([kc], 1.5)
        kc.close()  # commits the stored offsets of everything delivered
        first = list(kc.got)
        committed = g.kafka_committed(KAFKA, group, topic)
        rem = g.Remoting(REMOTING)
        queried = rem.query_offsets(group, topic)
        rem.close()
        log(f"{name}: Kafka phase {len(first)} deliveries; committed (OffsetFetch) {committed}, "
            f"QUERY_CONSUMER_OFFSET {queried}")
        if committed != queried:
            problems.append(f"OffsetFetch {committed} != QUERY_CONSUMER_OFFSET {queried}")
        rc = rocketmq(topic, group, "last", "k2r-rocketmq", tag)
        if not rc.wait_started():
            return finish(name, [f"push consumer did not start: {rc.log_tail()}"])
        g.wait_for(lambda: len(rc.deliveries()) >= 100, 20)
        time.sleep(2)
        prod.stop()
        g.wait_for(produced_all_consumed(prod, lambda: first + rc.deliveries()), DRAIN)
        clean, ms = rc.stop("sigterm")
        if not clean:
            problems.append(f"push consumer shutdown not clean: {rc.log_tail()}")
        second = rc.deliveries()
        if rc.retried():
            problems.append(f"push consumer saw redeliveries: {rc.retried()[:3]}")
        deliveries = first + second
        if prod.errors:
            problems.append(f"producer errors {prod.errors[:3]}")
        g.check_content(prod.acked, deliveries, problems)
        g.dump(f"{WORK}/{name}.deliveries.jsonl", deliveries)
        g.check_no_loss(name, prod.acked, deliveries, problems)
        window = g.check_handover(name, prod.acked, first, second, committed, WINDOW_BOUND,
                                  problems, kc.uncommitted)
        return finish(name, problems,
                      f"(produced {len(prod.acked)}, Kafka {len(first)}, RocketMQ {len(second)}, "
                      f"window {fmt_window(window)} <= {WINDOW_BOUND}, RocketMQ shutdown {ms} ms)")
    finally:
        prod.stop()
        kc.close()
        if rc is not None:
            rc.kill()


# --- 3a. RocketMQ live, Kafka arrives ---------------------------------------
def mixed_rocketmq_owns():
    name, topic, group, tag = "mixed-rocketmq-owns", "grp-mixa", "grp-mixa-g", "mixa"
    problems = []
    prod = g.SteadyProducer(KAFKA, topic, tag, RATE).start()
    rc = rocketmq(topic, group, "first", "mixa-rocketmq", tag)
    kcs = []
    try:
        if not rc.wait_started():
            return finish(name, [f"push consumer did not start: {rc.log_tail()}"])
        g.wait_for(lambda: len(rc.deliveries()) >= 100, 30)
        kc = g.KafkaGroupConsumer(KAFKA, group, topic, "mixa-k1", tag, "sync")
        kcs.append(kc)
        before = len(rc.deliveries())
        g.poll_all([kc], 6)
        during = len(rc.deliveries()) - before
        codes = kc.error_codes()
        polled = len(kc.errors) - len(kc.cb_errors)
        log(f"{name}: while RocketMQ is live the Kafka member saw error codes {sorted(codes)} "
            f"({polled} from poll(), {len(kc.cb_errors)} through error_cb; first "
            f"{[str(e) for e in kc.errors[:1]]}), {len(kc.got)} messages, "
            f"{len(kc.assigned)} assignments; RocketMQ got {during} meanwhile")
        if KafkaError.INCONSISTENT_GROUP_PROTOCOL not in codes:
            problems.append(f"no INCONSISTENT_GROUP_PROTOCOL for the Kafka member (errors {kc.errors[:3]})")
        if kc.got:
            problems.append(f"the Kafka member received {len(kc.got)} messages while RocketMQ owned the group")
        if during == 0:
            problems.append("the RocketMQ consumer stopped receiving while Kafka tried to join")
        # A commit outside membership is refused too (same offsets: harmless).
        current = g.kafka_committed(KAFKA, group, topic)
        code = g.kafka_simple_commit(KAFKA, group, topic,
                                     {p: o for p, o in current.items() if o is not None})
        log(f"{name}: Kafka OffsetCommit while RocketMQ owns the group -> error {code}")
        if code != KafkaError.UNKNOWN_MEMBER_ID:
            problems.append(f"Kafka OffsetCommit from a non-member got {code}, want UNKNOWN_MEMBER_ID (25)")
        clean, _ = rc.stop("stopfile")
        t_free = g.now()
        first = rc.deliveries()
        if not clean:
            problems.append(f"push consumer shutdown not clean: {rc.log_tail()}")
        committed = g.kafka_committed(KAFKA, group, topic)
        # Does librdkafka retry the join? Give it KAFKA_TAKEOVER_BOUND seconds.
        took = g.poll_all([kc], KAFKA_TAKEOVER_BOUND, lambda: bool(kc.got))
        how = "the same consumer retried its join"
        if not took:
            how = "librdkafka did not rejoin; a new consumer took over"
            kc.close()
            kc = g.KafkaGroupConsumer(KAFKA, group, topic, "mixa-k2", tag, "sync")
            kcs.append(kc)
            took = g.poll_all([kc], KAFKA_TAKEOVER_BOUND, lambda: bool(kc.got))
        takeover = (min(d.t for d in kc.got) - t_free) if kc.got else None
        log(f"{name}: after the push consumer left: {how}; assignments (s after it left) "
            f"{[(round(t - t_free, 1), ps) for t, ps in kc.assigned]}")
        if not took:
            problems.append("no Kafka consumer took over after RocketMQ left")
        g.poll_all([kc], 2)
        prod.stop()
        def second():
            return [d for k in kcs for d in k.got]

        if not g.poll_all([kc], DRAIN, produced_all_consumed(prod, lambda: first + second())):
            problems.append("the Kafka consumer did not consume everything in time")
        for k in kcs:
            k.close()
        deliveries = first + second()
        g.check_content(prod.acked, deliveries, problems)
        g.dump(f"{WORK}/{name}.deliveries.jsonl", deliveries)
        g.check_no_loss(name, prod.acked, deliveries, problems)
        allowed = set().union(*(k.uncommitted for k in kcs))
        window = g.check_handover(name, prod.acked, first, second(), committed, WINDOW_BOUND,
                                  problems, allowed)
        t = f"{takeover:.1f} s" if takeover is not None else "none"
        return finish(name, problems, f"({how}; takeover {t}; window {fmt_window(window)})")
    finally:
        prod.stop()
        rc.kill()
        for k in kcs:
            k.close()


# --- 3b. Kafka live, RocketMQ arrives ---------------------------------------
def mixed_kafka_owns():
    name, topic, group, tag = "mixed-kafka-owns", "grp-mixb", "grp-mixb-g", "mixb"
    problems = []
    prod = g.SteadyProducer(KAFKA, topic, tag, RATE).start()
    kc = g.KafkaGroupConsumer(KAFKA, group, topic, "mixb-k1", tag, "auto")
    rc = None
    try:
        g.poll_all([kc], 30, lambda: len(kc.got) >= 100)
        rc = rocketmq(topic, group, "last", "mixb-rocketmq", tag)
        if not rc.wait_started():
            return finish(name, [f"push consumer did not start: {rc.log_tail()}"])
        before = len(kc.got)
        g.poll_all([kc], 6)
        if rc.deliveries():
            problems.append(f"the RocketMQ consumer received {len(rc.deliveries())} messages "
                            f"while Kafka owned the group")
        if len(kc.got) == before:
            problems.append("the Kafka consumer stopped receiving while RocketMQ tried to join")
        # The refused push consumer is not listed, and an UPDATE_CONSUMER_OFFSET
        # from RocketMQ is refused (same offset: harmless if it were not).
        rem = g.Remoting(REMOTING)
        listed = rem.consumer_ids(group)
        current = g.kafka_committed(KAFKA, group, topic)
        code, remark = rem.update_offset(group, topic, 0, current.get(0) or 0)
        rem.close()
        log(f"{name}: while Kafka is live the push consumer got {len(rc.deliveries())} messages, "
            f"GET_CONSUMER_LIST_BY_GROUP lists {listed}; UPDATE_CONSUMER_OFFSET -> code {code} ({remark})")
        if listed:
            problems.append(f"GET_CONSUMER_LIST_BY_GROUP lists {listed} while Kafka owned the group")
        if code == 0:
            problems.append("UPDATE_CONSUMER_OFFSET was accepted while Kafka owned the group")
        g.poll_all([kc], 0.5)
        kc.close()
        t_free = g.now()
        first = list(kc.got)
        committed = g.kafka_committed(KAFKA, group, topic)
        took = g.wait_for(lambda: bool(rc.deliveries()), ROCKETMQ_TAKEOVER_BOUND)
        takeover = (min(d.t for d in rc.deliveries()) - t_free) if took else None
        if not took:
            problems.append(f"the RocketMQ consumer did not take over within {ROCKETMQ_TAKEOVER_BOUND} s")
        time.sleep(2)  # the new owner consumes with the producer still sending
        prod.stop()
        g.wait_for(produced_all_consumed(prod, lambda: first + rc.deliveries()), DRAIN)
        clean, _ = rc.stop("sigterm")
        if not clean:
            problems.append(f"push consumer shutdown not clean: {rc.log_tail()}")
        second = rc.deliveries()
        deliveries = first + second
        g.check_content(prod.acked, deliveries, problems)
        g.dump(f"{WORK}/{name}.deliveries.jsonl", deliveries)
        g.check_no_loss(name, prod.acked, deliveries, problems)
        window = g.check_handover(name, prod.acked, first, second, committed, WINDOW_BOUND,
                                  problems, kc.uncommitted)
        t = f"{takeover:.1f} s" if takeover is not None else "none"
        return finish(name, problems, f"(takeover {t}; window {fmt_window(window)})")
    finally:
        prod.stop()
        kc.close()
        if rc is not None:
            rc.kill()


def main():
    start = time.monotonic()
    create_topics(["grp-r2k", "grp-k2r", "grp-mixa", "grp-mixb"])
    results = {}
    only = sys.argv[6:]
    for fn in (rocketmq_to_kafka, kafka_to_rocketmq, mixed_rocketmq_owns, mixed_kafka_owns):
        if only and fn.__name__ not in only:
            continue
        t0 = time.monotonic()
        try:
            results[fn.__name__] = fn()
        except Exception as e:  # report and go on with the next scenario
            log(f"FAIL {fn.__name__}: {type(e).__name__}: {e}")
            results[fn.__name__] = False
        log(f"{fn.__name__} took {time.monotonic() - t0:.0f} s")
    failed = [n for n, ok in results.items() if not ok]
    log(f"{len(results) - len(failed)} of {len(results)} scenarios passed "
        f"in {time.monotonic() - start:.0f} s")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
