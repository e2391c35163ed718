"""RocketMQ ACL admin codes over raw remoting frames, signed here with
Python's hmac (an implementation independent of rokka's and of the Rust
client's), with the header fields `mqadmin updateAclConfig` sends.

Usage: rmq_admin.py <broker host:port> <acl file>
Exits non-zero with a message on the first unexpected answer."""
import base64
import hashlib
import hmac
import json
import socket
import struct
import sys

ADDR, ACL_FILE = sys.argv[1], sys.argv[2]
ADMIN = ("rmq-admin1", "admin-secret1")
READER = ("rmq-reader", "reader-secret")


def call(code, fields, keys, body=b"", opaque=[0]):
    ext = dict(fields)
    ext["AccessKey"] = keys[0]
    content = "".join(ext[k] for k in sorted(ext)).encode() + body
    ext["Signature"] = base64.b64encode(
        hmac.new(keys[1].encode(), content, hashlib.sha1).digest()).decode()
    opaque[0] += 1
    header = json.dumps({"code": code, "flag": 0, "language": "JAVA", "opaque": opaque[0],
                         "serializeTypeCurrentRPC": "JSON", "version": 401,
                         "extFields": ext}).encode()
    frame = struct.pack(">II", 4 + len(header) + len(body), len(header)) + header + body
    host, port = ADDR.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(frame)
        buf = b""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit(f"code {code}: connection closed")
            buf += chunk
    hlen = struct.unpack(">I", buf[4:8])[0] & 0xFFFFFF
    reply = json.loads(buf[8:8 + hlen])
    return reply.get("code"), reply.get("remark"), reply.get("extFields") or {}, buf[8 + hlen:]


def expect(what, got, want_code, remark_part=None):
    code, remark = got[0], got[1]
    if code != want_code or (remark_part and remark_part not in (remark or "")):
        raise SystemExit(f"{what}: got code {code} remark {remark!r}, want {want_code} {remark_part!r}")
    print(f"PASS {what} (code {code})")


new_account = {"accessKey": "rmq-late1", "secretKey": "late-secret1", "admin": "false",
               "defaultTopicPerm": "DENY", "defaultGroupPerm": "SUB", "topicPerms": "acl-topic=PUB"}
expect("acl-update-config-by-non-admin", call(50, new_account, READER), 16,
       "Need admin permission for request code=50, but accessKey=rmq-reader is not")
expect("acl-update-config", call(50, new_account, ADMIN), 0)
expect("acl-update-config-bad-perm", call(50, dict(new_account, topicPerms="t=ALL"), ADMIN), 209,
       "The expected permissions are")
with open(ACL_FILE) as f:
    text = f.read()
if "rmq-late1" not in text or "acl-topic=PUB" not in text:
    raise SystemExit("the new account is not in the ACL file")
print("PASS acl-config-persisted")
info = call(52, {}, ADMIN)
expect("acl-info", info, 0)
if json.loads(info[2].get("version", "{}")).get("counter", 0) < 1:
    raise SystemExit(f"acl-info: version {info[2]!r}")
expect("acl-delete-config", call(51, {"accessKey": "rmq-late1"}, ADMIN), 0)
expect("acl-delete-missing", call(51, {"accessKey": "rmq-late1"}, ADMIN), 210,
       "The accesskey[rmq-late1] corresponding to accessConfig has been deleted failed.")
expect("acl-global-white", call(53, {"globalWhiteAddrs": "10.9.8.7"}, ADMIN), 0)
cfg = call(54, {}, ADMIN)
expect("acl-get-config", cfg, 0)
body = json.loads(cfg[3])
if body.get("globalWhiteAddrs") != ["10.9.8.7"] or "rmq-writer" not in [a["accessKey"] for a in body["plainAccessConfigs"]]:
    raise SystemExit(f"acl-get-config: {body!r}")
expect("acl-get-config-by-non-admin", call(54, {}, READER), 16)
