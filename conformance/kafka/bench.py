"""Kafka end-to-end throughput with a real librdkafka producer/consumer
(confluent-kafka): 1 KiB records over loopback, acks=1 and acks=all, with and
without lz4, then a fetch of the same data. Prints one JSON line per case.
Usage: bench.py BOOTSTRAP COUNT"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer

bootstrap, count = sys.argv[1], int(sys.argv[2])
payload = bytes(range(256)) * 4  # 1 KiB, compressible like real data is not;
# vary a prefix per record so lz4 cannot collapse whole batches
for acks in ("1", "all"):
    for codec in ("none", "lz4"):
        topic = f"bench-{acks}-{codec}"
        p = Producer({
            "bootstrap.servers": bootstrap,
            "acks": acks,
            "compression.type": codec,
            "linger.ms": 5,
            "batch.num.messages": 10000,
            "queue.buffering.max.messages": 500000,
            "queue.buffering.max.kbytes": 1048576,
        })
        failed = []
        t0 = time.perf_counter()
        for i in range(count):
            value = i.to_bytes(8, "big") + payload[8:]
            while True:
                try:
                    p.produce(topic, value=value, on_delivery=lambda e, m: e and failed.append(e))
                    break
                except BufferError:
                    p.poll(0.01)
            if i % 1000 == 0:
                p.poll(0)
        left = p.flush(120)
        produce_s = time.perf_counter() - t0
        if left or failed:
            sys.exit(f"{topic}: {left} undelivered, {len(failed)} failed: {failed[:3]}")
        c = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.max.bytes": 52428800,
            "max.partition.fetch.bytes": 10485760,
        })
        c.subscribe([topic])
        got, t0, deadline = 0, None, time.time() + 180
        while got < count and time.time() < deadline:
            msgs = c.consume(10000, 1.0)
            if msgs and t0 is None:
                t0 = time.perf_counter()
            got += sum(1 for m in msgs if m.error() is None)
        fetch_s = time.perf_counter() - (t0 or time.perf_counter())
        c.close()
        if got < count:
            sys.exit(f"{topic}: fetched {got} of {count}")
        mb = count * len(payload) / 1e6
        print(json.dumps({"acks": acks, "codec": codec, "records": count,
                          "produce_mb_s": round(mb / produce_s, 1),
                          "fetch_mb_s": round(mb / fetch_s, 1)}), flush=True)
