"""Scenarios of the RocketMQ 5.x Python SDK (rocketmq-python-client) against
rokka's gRPC port. Usage: sdk.py HOST:PORT. Each scenario uses its own
topic and consumer group; group gFifo is consumeMessageOrderly (run.sh
writes it into the broker's subscriptionGroup.json before the start).
Prints one line per check and a closing "N passed, N failed" line."""

import sys
import time

from rocketmq.grpc_protocol import FilterType

from rocketmq import (ClientConfiguration, ConsumeResult, Credentials,
                      FilterExpression, Message, MessageListener, Producer,
                      PushConsumer, SimpleConsumer, TransactionChecker,
                      TransactionResolution)

ENDPOINT = sys.argv[1]
RUN = str(int(time.time()))
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}", flush=True)


def config():
    return ClientConfiguration(ENDPOINT, Credentials(), request_timeout=10)


def msg(topic, body, tag="TagA", keys=None, group=None, at=None, **props):
    m = Message()
    m.topic = topic
    m.body = body.encode()
    m.tag = tag
    if keys:
        m.keys = keys
    if group:
        m.message_group = group
    if at:
        m.delivery_timestamp = at
    for k, v in props.items():
        m.add_property(k, v)
    return m


def consumer(group, topic, await_s=3, expression=None):
    c = SimpleConsumer(config(), group, {topic: expression or FilterExpression()},
                       await_duration=await_s)
    c.startup()
    return c


def receive_all(c, want, invisible=20, deadline_s=20):
    got = []
    end = time.time() + deadline_s
    while len(got) < want and time.time() < end:
        got.extend(c.receive(32, invisible) or [])
    return got


class Checker(TransactionChecker):
    """Answers the broker's back-check (RecoverOrphanedTransactionCommand)."""

    def __init__(self):
        self.asked = []

    def check(self, message):
        self.asked.append(message.body)
        if message.body == b"check-commit":
            return TransactionResolution.COMMIT
        return TransactionResolution.ROLLBACK


class Listener(MessageListener):
    """Fails the first delivery of "retry-me", so the SDK retries it."""

    def __init__(self):
        self.seen = []

    def consume(self, message):
        body = message.body.decode()
        self.seen.append((body, message.delivery_attempt))
        if body == "retry-me" and message.delivery_attempt == 1:
            return ConsumeResult.FAILURE
        return ConsumeResult.SUCCESS


def push_scenario(producer, topic):
    listener = Listener()
    pc = PushConsumer(config(), "gPush", listener, {topic: FilterExpression()},
                      consumption_thread_count=2)
    pc.startup()
    for body in ["p1", "retry-me", "p2"]:
        producer.send(msg(topic, body))
    end = time.time() + 20
    while time.time() < end and sorted(listener.seen) != [
            ("p1", 1), ("p2", 1), ("retry-me", 1), ("retry-me", 2)]:
        time.sleep(0.2)
    check("push consumer: all consumed, the failed one retried once",
          sorted(listener.seen) == [("p1", 1), ("p2", 1), ("retry-me", 1), ("retry-me", 2)],
          listener.seen)
    t0 = time.time()
    pc.shutdown()
    print(f"push consumer shut down in {time.time() - t0:.1f} s", flush=True)


def dlq_scenario(producer, topic):
    """gPyDlq has retryMaxTimes 1 (run.sh): a message never acked is
    delivered twice, then moved to %DLQ%gPyDlq with its body, keys and id."""
    mid = producer.send(msg(topic, "poison", keys="poison-key")).message_id
    c = consumer("gPyDlq", topic, await_s=1)
    attempts, end = [], time.time() + 25
    while len(attempts) < 2 and time.time() < end:
        attempts.extend(m.delivery_attempt for m in c.receive(32, 1) or [])
    end = time.time() + 4  # long enough for a third delivery, were there one
    while time.time() < end:
        attempts.extend(m.delivery_attempt for m in c.receive(32, 1) or [])
    check("retry: delivered twice (attempts 1, 2), then no more", attempts == [1, 2], attempts)
    c.shutdown()
    d = consumer(f"gPyDlqReader{RUN}", "%DLQ%gPyDlq")
    got = receive_all(d, 1, deadline_s=15)
    check("dlq: the message is in %DLQ%<group> with its body, keys and id",
          len(got) == 1 and got[0].body == b"poison" and "poison-key" in got[0].keys
          and got[0].message_id == mid,
          [(m.body, m.keys, m.message_id) for m in got] + [mid])
    for m in got:
        d.ack(m)
    d.shutdown()


def main():
    t = {k: f"py{k}{RUN}" for k in ["Normal", "Redeliver", "Change", "Fifo", "Delay", "Tx", "Push", "Sql", "Dlq"]}
    checker = Checker()
    producer = Producer(config(), tuple(t.values()), checker=checker)
    producer.startup()

    # Normal sends, receive -> ack.
    ids = [producer.send(msg(t["Normal"], f"n{i}", keys="k1", color="red")).message_id
           for i in range(5)]
    check("normal sends answered with message ids", all(ids), ids)
    c = consumer("gNormal", t["Normal"])
    got = receive_all(c, 5)
    check("normal: 5 received", sorted(m.body.decode() for m in got) == [f"n{i}" for i in range(5)],
          [m.body for m in got])
    check("normal: ids match the send receipts", sorted(m.message_id for m in got) == sorted(ids))
    check("normal: tag, keys, properties kept",
          all(m.tag == "TagA" and "k1" in m.keys and m.properties.get("color") == "red"
              for m in got), [(m.tag, m.keys, m.properties) for m in got])
    for m in got:
        c.ack(m)
    check("normal: nothing after ack", not receive_all(c, 1, deadline_s=2))
    c.shutdown()

    # Receive without ack -> redelivered after the invisible time.
    rid = producer.send(msg(t["Redeliver"], "again")).message_id
    c = consumer("gRedeliver", t["Redeliver"])
    first = receive_all(c, 1, invisible=2)
    t0 = time.time()
    again = receive_all(c, 1, invisible=20, deadline_s=15)
    waited = time.time() - t0
    check("redeliver: same message back after the invisible time",
          len(first) == 1 and len(again) == 1 and again[0].message_id == rid,
          (first, again))
    check("redeliver: not before ~2 s", waited >= 1.0, waited)
    check("redeliver: delivery attempt 2", again and again[0].delivery_attempt == 2,
          again and again[0].delivery_attempt)
    for m in again:
        c.ack(m)
    c.shutdown()

    # Change invisible duration: stays hidden past the first deadline.
    producer.send(msg(t["Change"], "later"))
    c = consumer("gChange", t["Change"])
    got = receive_all(c, 1, invisible=2)
    if got:
        c.change_invisible_duration(got[0], 20)
    hidden = receive_all(c, 1, deadline_s=5)
    check("change invisible: hidden after the first 2 s", len(got) == 1 and not hidden, hidden)
    if got:
        c.ack(got[0])  # with the handle the change answered
        check("change invisible: ack with the new handle", True)
    c.shutdown()

    # FIFO: order per message group (orderly group).
    for i in range(10):
        producer.send(msg(t["Fifo"], f"{i % 2}-{i}", group=f"G{i % 2}"))
    c = consumer("gFifo", t["Fifo"])
    seen = {"G0": [], "G1": []}
    end = time.time() + 20
    while sum(map(len, seen.values())) < 10 and time.time() < end:
        for m in c.receive(32, 20) or []:
            seen[m.message_group].append(int(m.body.decode().split("-")[1]))
            c.ack(m)
    check("fifo: every message once, in send order per group",
          seen == {"G0": [0, 2, 4, 6, 8], "G1": [1, 3, 5, 7, 9]}, seen)
    c.shutdown()

    # Delay: not delivered before its delivery time (seconds in this SDK).
    due = int(time.time()) + 2
    producer.send(msg(t["Delay"], "delayed", at=due))
    c = consumer("gDelay", t["Delay"])
    got = receive_all(c, 1, deadline_s=20)
    now = time.time()
    check("delay: delivered, not before its time", len(got) == 1 and now >= due, (got, now, due))
    check("delay: message type and delivery timestamp", got and got[0].delivery_timestamp,
          got and got[0].delivery_timestamp)
    for m in got:
        c.ack(m)
    c.shutdown()

    dlq_scenario(producer, t["Dlq"])

    # Transactions: commit is delivered, rollback is not.
    tx = producer.begin_transaction()
    producer.send(msg(t["Tx"], "committed"), tx)
    tx.commit()
    tx = producer.begin_transaction()
    producer.send(msg(t["Tx"], "rolled-back"), tx)
    tx.rollback()
    c = consumer("gTx", t["Tx"])
    got = receive_all(c, 2, deadline_s=6)
    check("transaction: only the committed message", [m.body for m in got] == [b"committed"],
          [m.body for m in got])
    for m in got:
        c.ack(m)

    # Back-check through Telemetry: two half messages left unresolved; the
    # broker asks this producer (transactionTimeOut 1 s), which commits one.
    producer.send(msg(t["Tx"], "check-commit"), producer.begin_transaction())
    producer.send(msg(t["Tx"], "check-rollback"), producer.begin_transaction())
    got = receive_all(c, 2, invisible=60, deadline_s=12)
    check("transaction back-check: the checker was asked",
          sorted(checker.asked) == [b"check-commit", b"check-rollback"], checker.asked)
    check("transaction back-check: only the committed one delivered",
          [m.body for m in got] == [b"check-commit"], [m.body for m in got])
    for m in got:
        c.ack(m)
    c.shutdown()

    # SQL92 property filter (enablePropertyFilter=true): only a > 5.
    for a in [3, 7, 10]:
        producer.send(msg(t["Sql"], f"a{a}", a=str(a)))
    c = consumer("gSql", t["Sql"], expression=FilterExpression("a > 5", FilterType.SQL))
    got = receive_all(c, 2, invisible=60, deadline_s=10)
    check("sql92: only the matching messages", sorted(m.body for m in got) == [b"a10", b"a7"],
          [m.body for m in got])
    for m in got:
        c.ack(m)
    c.shutdown()

    push_scenario(producer, t["Push"])
    producer.shutdown()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - a crash is a failure line
        check("scenario ran to the end", False, repr(e))
    print(f"{results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)
