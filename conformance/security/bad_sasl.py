"""Bad SASL input on a SASL listener: an unknown mechanism gets
UNSUPPORTED_SASL_MECHANISM (33) and a close; a malformed PLAIN token gets
SASL_AUTHENTICATION_FAILED (58) and a close; a request before
authentication is closed. Every read is bounded (no hang)."""
import socket
import struct
import sys

host, port = sys.argv[1].rsplit(":", 1)


def conn():
    s = socket.create_connection((host, int(port)), timeout=5)
    return s


def request(s, key, version, body, cid=1):
    client = b"bad-sasl"
    head = struct.pack(">hhih", key, version, cid, len(client)) + client
    if key == 36 and version >= 2:
        head += b"\x00"  # header tags
    frame = head + body
    s.sendall(struct.pack(">i", len(frame)) + frame)


def response(s):
    size = s.recv(4)
    if len(size) < 4:
        return None
    n = struct.unpack(">i", size)[0]
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def closed(s):
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        return True


def kstr(v):
    return struct.pack(">h", len(v)) + v


s = conn()
request(s, 17, 1, kstr(b"GSSAPI"))
r = response(s)
assert r is not None and struct.unpack(">h", r[4:6])[0] == 33, r
assert closed(s), "connection left open after an unknown mechanism"

s = conn()
request(s, 17, 1, kstr(b"PLAIN"))
r = response(s)
assert struct.unpack(">h", r[4:6])[0] == 0, r
request(s, 36, 1, struct.pack(">i", 3) + b"\x00\x00\x00", cid=2)  # 4 tokens
r = response(s)
assert r is not None and struct.unpack(">h", r[4:6])[0] == 58, r
assert closed(s), "connection left open after a malformed token"

s = conn()
request(s, 3, 1, struct.pack(">i", -1))  # Metadata before authentication
assert closed(s), "a request before authentication was served"
print("[security-conformance] bad SASL input: 33 / 58 / close", flush=True)
