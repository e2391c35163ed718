"""Kafka admin scenarios against a running rokka: confluent-kafka AdminClient
and kafka-python KafkaAdminClient. Usage: admin_scenarios.py HOST:PORT
[--after-restart]. Exits non-zero (with a message) on the first mismatch."""

import sys
import time
import uuid

from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)

BOOT = sys.argv[1]
AFTER_RESTART = "--after-restart" in sys.argv
RUN = "fixed"  # topic names are stable so the restart run finds them
T_CFG = f"adm-cfg-{RUN}"
T_RET = f"adm-ret-{RUN}"
T_LAT = f"adm-lat-{RUN}"
GROUP = f"adm-group-{uuid.uuid4().hex[:6]}"


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def admin():
    return AdminClient({"bootstrap.servers": BOOT})


def describe_topic(a, topic):
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return a.describe_configs([res])[res].result(timeout=20)


def produce(topic, value, partition=0, timestamp=None):
    """Produces one record; returns (error or None, message)."""
    p = Producer({"bootstrap.servers": BOOT, "linger.ms": 0, "enable.idempotence": False})
    out = {}

    def cb(err, msg):
        out["err"], out["msg"] = err, msg

    kw = {"timestamp": timestamp} if timestamp is not None else {}
    p.produce(topic, value=value, key=b"k", partition=partition, on_delivery=cb, **kw)
    p.flush(20)
    return out.get("err"), out.get("msg")


def watermarks(topic, partition=0):
    c = Consumer({"bootstrap.servers": BOOT, "group.id": "adm-wm"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    finally:
        c.close()


def first_run():
    a = admin()
    # --- create with configs -> CreateTopics returns them, describe shows them
    fs = a.create_topics([
        NewTopic(T_CFG, 2, 1, config={"max.message.bytes": "2048", "cleanup.policy": "compact",
                                      "retention.ms": "3600000"}),
        NewTopic(T_RET, 1, 1),
        NewTopic(T_LAT, 1, 1, config={"message.timestamp.type": "LogAppendTime"}),
    ])
    for t, f in fs.items():
        f.result(timeout=20)
    check(True, "create_topics with configs")
    bad = a.create_topics([NewTopic(f"adm-bad-{uuid.uuid4().hex[:6]}", 1, 1,
                                    config={"retention.ms": "soon"})])
    try:
        list(bad.values())[0].result(timeout=20)
        check(False, "invalid config refused at creation")
    except KafkaException as e:
        check(e.args[0].code() == KafkaError.INVALID_CONFIG, f"invalid config refused ({e})")
    cfg = describe_topic(a, T_CFG)
    check(cfg["max.message.bytes"].value == "2048", "describe shows max.message.bytes=2048")
    check(cfg["cleanup.policy"].value == "compact", "describe shows cleanup.policy=compact")
    src = cfg["retention.ms"].source
    check(getattr(src, "value", src) == 1, f"retention.ms source is the topic ({src})")
    check(cfg["message.timestamp.type"].value == "CreateTime", "defaults are described too")

    # --- max.message.bytes enforced, then raised by incremental alter
    err, _ = produce(T_CFG, b"x" * 4000)
    check(err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE,
          f"record over max.message.bytes refused ({err})")
    err, _ = produce(T_CFG, b"small")
    check(err is None, "record under max.message.bytes accepted")
    res = ConfigResource(ConfigResource.Type.TOPIC, T_CFG, incremental_configs=[
        ConfigEntry("max.message.bytes", "100000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.APPEND),
    ])
    a.incremental_alter_configs([res])[res].result(timeout=20)
    cfg = describe_topic(a, T_CFG)
    check(cfg["max.message.bytes"].value == "100000", "incremental alter shows in describe")
    check(cfg["cleanup.policy"].value == "compact,delete", "APPEND to cleanup.policy")
    err, _ = produce(T_CFG, b"x" * 4000)
    check(err is None, f"record accepted after raising max.message.bytes ({err})")

    # --- LogAppendTime stamps the batch
    before = int(time.time() * 1000) - 1000
    err, _ = produce(T_LAT, b"stamped", timestamp=1000)
    check(err is None, "produce to LogAppendTime topic")
    c = Consumer({"bootstrap.servers": BOOT, "group.id": f"adm-lat-{uuid.uuid4().hex[:6]}",
                  "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(T_LAT, 0, 0)])
    msg = None
    deadline = time.time() + 20
    while msg is None and time.time() < deadline:
        m = c.poll(1)
        if m is not None and not m.error():
            msg = m
    c.close()
    check(msg is not None, "read the LogAppendTime record")
    ts_type, ts = msg.timestamp()
    check(ts_type == 2 and ts >= before, f"timestamp is the append time ({ts_type}, {ts})")

    # --- retention.ms honoured by the retention pass
    for i in range(5):
        check(produce(T_RET, f"old-{i}".encode())[0] is None, f"produce old-{i}")
    lo, hi = watermarks(T_RET)
    check((lo, hi) == (0, 5), f"five records before retention ({lo}, {hi})")
    time.sleep(1.5)
    res = ConfigResource(ConfigResource.Type.TOPIC, T_RET, incremental_configs=[
        ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)])
    a.incremental_alter_configs([res])[res].result(timeout=20)
    deadline = time.time() + 15
    while time.time() < deadline and watermarks(T_RET)[0] < 5:
        time.sleep(0.5)
    check(watermarks(T_RET) == (5, 5), f"retention.ms expired the records {watermarks(T_RET)}")

    # --- dynamic broker config becomes the topics' default
    res = ConfigResource(ConfigResource.Type.BROKER, "0", incremental_configs=[
        ConfigEntry("log.retention.bytes", "123456789",
                    incremental_operation=AlterConfigOpType.SET)])
    a.incremental_alter_configs([res])[res].result(timeout=20)
    cfg = describe_topic(a, T_LAT)
    check(cfg["retention.bytes"].value == "123456789", "broker dynamic config is topic default")

    # --- groups: commit, reset refused while active, allowed once empty
    c = Consumer({"bootstrap.servers": BOOT, "group.id": GROUP, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([T_CFG])
    deadline = time.time() + 30
    got = 0
    while time.time() < deadline and got < 2:
        m = c.poll(1)
        if m is not None and not m.error():
            got += 1
    check(got == 2, "group consumer read the records")
    c.commit(asynchronous=False)
    reset = [ConsumerGroupTopicPartitions(GROUP, [TopicPartition(T_CFG, 0, 0),
                                                  TopicPartition(T_CFG, 1, 0)])]
    try:
        r = a.alter_consumer_group_offsets(reset)[GROUP].result(timeout=20)
        errs = [tp.error for tp in r.topic_partitions]
        check(all(e is not None and e.code() == KafkaError.UNKNOWN_MEMBER_ID for e in errs),
              f"reset refused while the group is active ({errs})")
    except KafkaException as e:
        check(e.args[0].code() == KafkaError.UNKNOWN_MEMBER_ID,
              f"reset refused while the group is active ({e})")
    groups = a.describe_consumer_groups([GROUP], include_authorized_operations=True)
    g = groups[GROUP].result(timeout=20)
    ops = {o.name for o in (g.authorized_operations or [])}
    check({"READ", "DESCRIBE", "DELETE"} <= ops, f"authorized operations {ops}")
    fut = a.delete_consumer_groups([GROUP])[GROUP]
    try:
        fut.result(timeout=20)
        check(False, "active group not deleted")
    except KafkaException as e:
        check(e.args[0].code() == KafkaError.NON_EMPTY_GROUP, f"active group kept ({e})")
    c.close()
    time.sleep(0.5)
    r = a.alter_consumer_group_offsets(reset)[GROUP].result(timeout=20)
    check(all(tp.error is None for tp in r.topic_partitions), "reset accepted once empty")
    offs = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(GROUP)])[GROUP]
    offs = {(tp.topic, tp.partition): tp.offset for tp in offs.result(timeout=20).topic_partitions}
    check(offs.get((T_CFG, 0)) == 0 and offs.get((T_CFG, 1)) == 0, f"offsets reset {offs}")

    kafka_python_admin()

    a.delete_consumer_groups([GROUP])[GROUP].result(timeout=20)
    listed = {g.group_id for g in a.list_consumer_groups().result(timeout=20).valid}
    check(GROUP not in listed, "deleted group no longer listed")


def kafka_python_admin():
    from kafka import KafkaAdminClient
    from kafka import TopicPartition as KTP
    from kafka.admin import ConfigResource as KCR, ConfigResourceType

    k = KafkaAdminClient(bootstrap_servers=BOOT, request_timeout_ms=20000)
    # legacy AlterConfigs replaces the topic's overrides
    k.alter_configs([KCR(ConfigResourceType.TOPIC, T_LAT, configs={"retention.ms": "7200000"})],
                    incremental=False)
    d = k.describe_configs([KCR(ConfigResourceType.TOPIC, T_LAT)], config_filter="all",
                           include_synonyms=True)
    entries = str(d)
    check("7200000" in entries, "kafka-python legacy alter shows in describe")
    # DescribeLogDirs: sizes from the store
    dirs = str(k.describe_log_dirs())
    check(T_CFG in dirs, "describe_log_dirs lists the topic")
    # DescribeProducers answers per partition
    prods = k.describe_producers([KTP(T_CFG, 0)])
    check(KTP(T_CFG, 0) in prods, "describe_producers answers")
    # no reassignments on one node; election not needed
    check(not k.list_partition_reassignments(), "no ongoing reassignments")
    r = k.elect_leaders(0, {T_CFG: [0]}, raise_errors=False)
    check("84" in str(r) or "ElectionNotNeeded" in str(r), f"election not needed ({r})")
    # delete offsets of one partition of the (now empty) group
    k.delete_group_offsets(GROUP, [KTP(T_CFG, 1)])
    offs = k.list_group_offsets({GROUP: None})
    parts = offs.get(GROUP, offs) if isinstance(offs, dict) else offs
    keys = set(parts.keys()) if isinstance(parts, dict) else set()
    check(KTP(T_CFG, 0) in keys and KTP(T_CFG, 1) not in keys,
          f"offset of partition 1 deleted ({offs})")
    k.close()


def after_restart():
    a = admin()
    cfg = describe_topic(a, T_CFG)
    check(cfg["max.message.bytes"].value == "100000", "topic config persisted across restart")
    cfg = describe_topic(a, T_LAT)
    check(cfg["retention.bytes"].value == "123456789", "broker config persisted across restart")
    err, _ = produce(T_CFG, b"x" * 200000)
    check(err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE,
          "max.message.bytes still enforced after restart")


if AFTER_RESTART:
    after_restart()
else:
    first_run()
print("all admin scenarios passed")
