"""Checks kcat -C output lines `partition|offset|key|value|headers`:
exactly the expected keys once each, values matching keys, headers as
expected, offsets contiguous from 0 and production order kept within each
partition. Usage: check_kcat.py FILE N HEADERS [CODEC]"""
import re
import sys

path, n, headers = sys.argv[1], int(sys.argv[2]), sys.argv[3]
codec = sys.argv[4] if len(sys.argv) > 4 else None
rows = [l.rstrip("\n").split("|", 4) for l in open(path) if l.strip()]
errors = []
if len(rows) != n:
    errors.append(f"expected {n} records, got {len(rows)}")
keys = [r[2] for r in rows]
if len(set(keys)) != len(keys):
    errors.append("duplicate keys")
per_part = {}
for p, o, k, v, h in rows:
    i = int(re.sub(r"\D", "", k))
    want = f"{codec}-compressible-payload-{codec}-{codec}-{codec}-{i}" if codec else f"value{i}"
    if v != want:
        errors.append(f"{k}: value {v!r} != {want!r}")
    if h != headers:
        errors.append(f"{k}: headers {h!r} != {headers!r}")
    per_part.setdefault(p, []).append((int(o), i))
for p, items in per_part.items():
    offs = [o for o, _ in items]
    if offs != list(range(len(offs))):
        errors.append(f"partition {p}: offsets {offs}")
    idx = [i for _, i in sorted(items)]
    if idx != sorted(idx):
        errors.append(f"partition {p}: order {idx}")
if errors:
    print("\n".join(errors[:20]))
    sys.exit(1)
