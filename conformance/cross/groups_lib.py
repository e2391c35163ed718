"""Building blocks for groups.py: a steady-rate Kafka producer, the RocketMQ
push consumer subprocess (`rokka-rocketmq-conformance <ns> migrate ...`),
confluent-kafka group consumers that record every delivery, a minimal
RocketMQ remoting client (QUERY/UPDATE_CONSUMER_OFFSET) and the migration
checks. Every wait is bounded.
"""
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

PARTITIONS = 4


def now():
    return time.monotonic()


class Delivery:
    """One message handed to an application: which ecosystem/consumer, where, what."""

    __slots__ = ("eco", "who", "part", "off", "seq", "t")

    def __init__(self, eco, who, part, off, seq, t):
        self.eco, self.who, self.part, self.off, self.seq, self.t = eco, who, part, off, seq, t

    def __repr__(self):
        return f"{self.eco}/{self.who} p{self.part}@{self.off} seq {self.seq}"


def seq_of(body, tag):
    """The sequence number in a body `<tag>:<seq>`, or None for a foreign body."""
    prefix = tag + ":"
    if not body.startswith(prefix):
        return None
    try:
        return int(body[len(prefix):])
    except ValueError:
        return None


class SteadyProducer:
    """confluent-kafka idempotent producer in its own thread: message `seq`
    goes to partition seq % 4 with value `<tag>:<seq>` at `rate` per second
    until stop(). Delivery reports give seq -> (partition, offset)."""

    def __init__(self, addr, topic, tag, rate):
        self.addr, self.topic, self.tag, self.rate = addr, topic, tag, rate
        self.acked = {}
        self.errors = []
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _done(self, err, msg):
        if err is not None:
            self.errors.append(err)
        else:
            self.acked[seq_of(msg.value().decode(), self.tag)] = (msg.partition(), msg.offset())

    def _run(self):
        p = Producer({
            "bootstrap.servers": self.addr,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
        })
        t0 = now()
        while not self._stop.is_set():
            due = int((now() - t0) * self.rate) + 1
            while self.sent < due:
                seq = self.sent
                p.produce(self.topic, value=f"{self.tag}:{seq}".encode(),
                          partition=seq % PARTITIONS, on_delivery=self._done)
                self.sent += 1
            p.poll(0.01)
        left = p.flush(30)
        if left:
            self.errors.append(f"{left} messages not flushed")

    def stop(self):
        self._stop.set()
        self._thread.join(40)
        if self._thread.is_alive():
            self.errors.append("producer thread did not stop")
        return self


class RocketMQConsumer:
    """The rocketmq-client-rust push consumer as a subprocess; collects its
    `MIGRATE <json>` event lines, writes the rest of its output to a log."""

    def __init__(self, client, ns, topic, group, start_from, work, name, tag,
                 client_defaults=False):
        self.name, self.tag = name, tag
        self.stop_file = os.path.join(work, f"{name}.stop")
        self.log_path = os.path.join(work, f"{name}.log")
        self.events = []
        self._lock = threading.Lock()
        env = dict(os.environ)
        # Read by rocketmq-client-rust's RebalanceService (default 20 s).
        env["rocketmq.client.rebalance.waitInterval"] = "2000"
        self.proc = subprocess.Popen(
            [client, ns, "migrate", topic, group, start_from, self.stop_file]
            + (["client-defaults"] if client_defaults else []),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", env=env)
        # groups.sh kills consumers left behind if this process is killed.
        with open(os.path.join(work, "rocketmq-consumers.pids"), "a") as f:
            f.write(f"{self.proc.pid}\n")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        with open(self.log_path, "w") as log:
            for line in self.proc.stdout:
                if line.startswith("MIGRATE "):
                    try:
                        ev = json.loads(line[len("MIGRATE "):])
                    except ValueError:
                        log.write("unparsable event: " + line)
                        continue
                    ev["t"] = now()
                    with self._lock:
                        self.events.append(ev)
                else:
                    log.write(line)

    def _evs(self, kind):
        with self._lock:
            return [e for e in self.events if e["ev"] == kind]

    def deliveries(self):
        out = []
        for e in self._evs("msg"):
            out.append(Delivery("rocketmq", self.name, e["queue"], e["offset"],
                                seq_of(e["body"], self.tag), e["t"]))
        return out

    def retried(self):
        return [e for e in self._evs("msg") if e.get("reconsume", 0) != 0]

    def wait_started(self, timeout=30):
        return wait_for(lambda: self._evs("started") or self.proc.poll() is not None, timeout) \
            and bool(self._evs("started"))

    def stop(self, how, timeout=40):
        """Stops by stop file or SIGTERM; returns (clean, shutdown_ms)."""
        if self.proc.poll() is None:
            if how == "sigterm":
                self.proc.send_signal(signal.SIGTERM)
            else:
                open(self.stop_file, "w").close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(10)
        stopped = self._evs("stopped")
        ms = stopped[0].get("shutdown_ms") if stopped else None
        return self.proc.returncode == 0 and bool(stopped), ms

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, n=25):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class KafkaGroupConsumer:
    """A confluent-kafka consumer subscribed to `topic` in `group`. With
    commit="sync" every delivered message is committed synchronously right
    after delivery (a failed commit is remembered); with commit="auto" the
    auto-commit of delivered (stored) offsets plus the commit in close()."""

    def __init__(self, addr, group, topic, name, tag, commit):
        self.name, self.tag, self.commit_mode = name, tag, commit
        self.got = []
        self.errors = []      # every error, in order
        self.cb_errors = []   # the ones reported through error_cb
        self.uncommitted = set()
        self.assigned = []
        self.closed = False
        self.c = Consumer({
            "bootstrap.servers": addr,
            "group.id": group,
            "client.id": name,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": commit == "auto",
            "auto.commit.interval.ms": 1000,
            "session.timeout.ms": 10000,
            "heartbeat.interval.ms": 500,
            "error_cb": self._on_error,
        })
        self.c.subscribe([topic], on_assign=self._on_assign)

    def _on_error(self, err):
        self.cb_errors.append(err)
        self.errors.append(err)

    def _on_assign(self, _c, parts):
        self.assigned.append((now(), sorted(p.partition for p in parts)))

    def poll(self, timeout=0.1):
        m = self.c.poll(timeout)
        if m is None:
            return
        if m.error():
            self.errors.append(m.error())
            return
        self.got.append(Delivery("kafka", self.name, m.partition(), m.offset(),
                                 seq_of(m.value().decode(errors="replace"), self.tag), now()))
        if self.commit_mode == "sync":
            try:
                self.c.commit(message=m, asynchronous=False)
            except KafkaException as e:
                self.errors.append(e.args[0])
                self.uncommitted.add((m.partition(), m.offset()))

    def error_codes(self):
        out = set()
        for e in self.errors:
            if isinstance(e, KafkaError):
                out.add(e.code())
        return out

    def close(self):
        if not self.closed:
            self.closed = True
            self.c.close()


def poll_all(consumers, seconds, until=None):
    """Polls every consumer round-robin for up to `seconds` (or until `until()`)."""
    end = now() + seconds
    while now() < end:
        for c in consumers:
            c.poll(0.05)
        if until is not None and until():
            return True
    return until() if until is not None else True


def wait_for(cond, timeout, step=0.1):
    end = now() + timeout
    while now() < end:
        if cond():
            return True
        time.sleep(step)
    return bool(cond())


def kafka_committed(addr, group, topic):
    """OffsetFetch through a consumer that does not join the group: {partition: offset or None}."""
    c = Consumer({"bootstrap.servers": addr, "group.id": group, "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    finally:
        c.close()
    return {tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in tps}


def kafka_simple_commit(addr, group, topic, offsets):
    """OffsetCommit outside any group membership (generation -1); returns the
    Kafka error code (0 = accepted)."""
    c = Consumer({"bootstrap.servers": addr, "group.id": group, "enable.auto.commit": False})
    try:
        res = c.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()],
                       asynchronous=False)
        errs = [tp.error for tp in res if tp.error is not None]
        return errs[0].code() if errs else 0
    except KafkaException as e:
        return e.args[0].code()
    finally:
        c.close()


class Remoting:
    """Minimal RocketMQ remoting client (JSON headers) for the offset requests."""

    QUERY_CONSUMER_OFFSET = 14
    UPDATE_CONSUMER_OFFSET = 15
    GET_CONSUMER_LIST_BY_GROUP = 38

    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.opaque = 0

    def call(self, code, ext):
        """One request; returns (response code, extFields, remark)."""
        code, ext, remark, _ = self.call_with_body(code, ext)
        return code, ext, remark

    def call_with_body(self, code, ext):
        """One request; returns (response code, extFields, remark, body bytes)."""
        self.opaque += 1
        hdr = json.dumps({"code": code, "extFields": ext, "flag": 0, "language": "JAVA",
                          "opaque": self.opaque, "serializeTypeCurrentRPC": "JSON",
                          "version": 479}).encode()
        self.sock.sendall(struct.pack(">II", 4 + len(hdr), len(hdr)) + hdr)
        total = struct.unpack(">I", self._read(4))[0]
        frame = self._read(total)
        hlen = struct.unpack(">I", frame[:4])[0] & 0xFFFFFF
        h = json.loads(frame[4:4 + hlen])
        return h.get("code"), h.get("extFields") or {}, h.get("remark"), frame[4 + hlen:]

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("remoting connection closed")
            buf += chunk
        return buf

    def query_offsets(self, group, topic):
        """QUERY_CONSUMER_OFFSET per queue: {queue: offset or None}."""
        out = {}
        for q in range(PARTITIONS):
            code, ext, _ = self.call(self.QUERY_CONSUMER_OFFSET,
                                     {"consumerGroup": group, "topic": topic, "queueId": str(q)})
            out[q] = int(ext["offset"]) if code == 0 and "offset" in ext else None
        return out

    def consumer_ids(self, group):
        """GET_CONSUMER_LIST_BY_GROUP: the registered client ids ([] on an error reply)."""
        code, _, _, body = self.call_with_body(self.GET_CONSUMER_LIST_BY_GROUP,
                                               {"consumerGroup": group})
        if code != 0 or not body:
            return []
        return json.loads(body).get("consumerIdList") or []

    def update_offset(self, group, topic, queue, offset):
        code, _, remark = self.call(self.UPDATE_CONSUMER_OFFSET,
                                    {"consumerGroup": group, "topic": topic,
                                     "queueId": str(queue), "commitOffset": str(offset)})
        return code, remark

    def close(self):
        self.sock.close()


def by_partition(deliveries):
    out = {}
    for d in deliveries:
        out.setdefault(d.part, []).append(d)
    for v in out.values():
        v.sort(key=lambda d: (d.t, d.off))
    return out


def check_content(produced, deliveries, problems):
    """Every delivery carries the seq the producer wrote at that (partition, offset)."""
    at = {v: k for k, v in produced.items()}
    for d in deliveries:
        want = at.get((d.part, d.off))
        if d.seq is None or want != d.seq:
            problems.append(f"{d}: the producer wrote seq {want} there")
            if len(problems) > 5:
                return


def check_handover(name, produced, first, second, committed, bound, problems, allowed_dups=()):
    """Checks one ecosystem change of a group: `first` (deliveries before the
    hand-over), `second` (after), `committed` (partition -> offset read at
    the hand-over). The uncommitted window of partition p is the set of
    first-phase deliveries at offsets >= committed[p]; its size must be
    <= bound; the second phase must start on each partition exactly at
    committed[p]; the only seqs delivered twice must be window members (or
    `allowed_dups`, (partition, offset) pairs with a failed commit inside a
    phase). Returns {partition: window size}."""
    window = {}
    window_keys = set()
    for p in range(PARTITIONS):
        c = committed.get(p)
        if c is None:
            problems.append(f"{name}: no committed offset for partition {p} at the hand-over")
            continue
        w = [d for d in first if d.part == p and d.off >= c]
        window[p] = len(w)
        window_keys.update((d.part, d.off) for d in w)
        if len(w) > bound:
            problems.append(f"{name}: partition {p} window {len(w)} > bound {bound}: {w[:5]}")
        later = sorted(d.off for d in second if d.part == p)
        if not later:
            problems.append(f"{name}: the second phase got nothing on partition {p}")
        elif later[0] != c:
            problems.append(f"{name}: the second phase started partition {p} at {later[0]}, committed {c}")
        # The first phase must not have skipped anything below the commit.
        below = sorted({d.off for d in first if d.part == p and d.off < c})
        lo = below[0] if below else c
        if below != list(range(lo, c)):
            problems.append(f"{name}: first phase holes below committed {c} on partition {p}")
    seen = {}
    for d in list(first) + list(second):
        seen.setdefault((d.part, d.off), []).append(d)
    ok_dups = window_keys | set(allowed_dups)
    for key, ds in seen.items():
        if len(ds) > 1 and (key not in ok_dups or len(ds) > 2):
            problems.append(f"{name}: delivered {len(ds)} times: {ds}")
            if len(problems) > 10:
                break
    return window


def dump(path, deliveries):
    """Writes the deliveries as JSON lines (kept with KEEP_WORK=1 for post-mortems)."""
    with open(path, "w") as f:
        for d in deliveries:
            f.write(json.dumps({"eco": d.eco, "who": d.who, "partition": d.part,
                                "offset": d.off, "seq": d.seq, "t": round(d.t, 3)}) + "\n")


def check_no_loss(name, produced, deliveries, problems):
    got = {(d.part, d.off) for d in deliveries}
    lost = sorted(s for s, po in produced.items() if po not in got)
    if lost:
        problems.append(f"{name}: {len(lost)} of {len(produced)} produced seqs never consumed, "
                        f"first {lost[:10]}")
    return lost
