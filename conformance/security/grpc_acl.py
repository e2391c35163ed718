"""RocketMQ ACL 1.0 and TLS on rokka's gRPC port with the RocketMQ 5.x
Python SDK (rocketmq-python-client). Usage: grpc_acl.py HOST:PORT, with
GRPC_DEFAULT_SSL_ROOTS_FILE_PATH naming the CA of the server certificate.
Prints one line per check; exits 1 if any failed."""

import sys
import time

from rocketmq import (ClientConfiguration, Credentials, FilterExpression,
                      Message, Producer, SimpleConsumer)

ENDPOINT = sys.argv[1]
TOPIC = "grpc-acl"
failed = []


def check(name, ok, detail=""):
    if not ok:
        failed.append(name)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}", flush=True)


def config(ak, sk):
    return ClientConfiguration(ENDPOINT, Credentials(ak, sk), request_timeout=5)


def msg(body):
    m = Message()
    m.topic = TOPIC
    m.body = body.encode()
    m.tag = "TagA"
    return m


def send(ak, sk, body, tls):
    """The message id, or the exception text when the send is refused."""
    p = Producer(config(ak, sk), (TOPIC,), tls_enable=tls)
    try:
        p.startup()
        return True, p.send(msg(body)).message_id
    except Exception as e:  # the SDK raises its own types per status code
        return False, f"{type(e).__name__}: {e}"
    finally:
        try:
            p.shutdown()
        except Exception:
            pass


def receive(ak, sk, group, want):
    c = SimpleConsumer(config(ak, sk), group, {TOPIC: FilterExpression()}, await_duration=2)
    try:
        c.startup()
        got, end = [], time.time() + 15
        while len(got) < want and time.time() < end:
            batch = c.receive(16, 20) or []
            for m in batch:
                c.ack(m)
            got.extend(batch)
        return True, sorted(m.body.decode() for m in got)
    except Exception as e:
        return False, f"{type(e).__name__}: {e}"
    finally:
        try:
            c.shutdown()
        except Exception:
            pass


ok, r = send("grpc-writer", "writer-secret", "over-tls", tls=True)
check("writer sends over TLS (CA-verified), signed", ok, r)
ok, r = send("grpc-writer", "writer-secret", "plain", tls=False)
check("writer sends in plain text on the same port, signed", ok, r)
ok, r = send("grpc-writer", "wrong-secret", "bad", tls=False)
# The SDK reports this one as a failed route query (the broker's log and
# metrics, checked by grpc_acl.sh, show the UNAUTHORIZED answer).
check("wrong secret refused", not ok, r)
ok, r = send("grpc-reader", "reader-secret", "bad", tls=False)
check("reader may not publish (FORBIDDEN)", not ok and ("403" in r or "orbidden" in r.lower()), r)
ok, r = receive("grpc-reader", "reader-secret", "grpc-group", 2)
check("reader receives and acks both in its group", ok and r == ["over-tls", "plain"], r)
ok, r = receive("grpc-reader", "reader-secret", "other-group", 1)
check("reader refused in a group it may not use", not ok or r == [], r)
print(f"{len(failed)} failed", flush=True)
sys.exit(1 if failed else 0)
