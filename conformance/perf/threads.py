#!/usr/bin/env python3
"""Per-thread CPU and context switches of a process, between two snapshots.

  threads.py snap PID FILE        write a snapshot of /proc/PID/task/*
  threads.py diff FILE0 FILE1 N   print, per thread name (tokio workers
                                  together), CPU µs and voluntary /
                                  involuntary context switches per message
                                  for N messages, and the process total.

The main thread (block_on) is shown apart from the other tokio workers.
A thread that started or ended between the snapshots counts from zero or
is left out. CPU is utime + stime (clock ticks), switches come from
/proc/PID/task/TID/status.
"""
import json
import os
import re
import sys


def snap(pid):
    out = {}
    base = f"/proc/{pid}/task"
    for tid in os.listdir(base):
        try:
            with open(f"{base}/{tid}/stat") as f:
                stat = f.read()
            with open(f"{base}/{tid}/status") as f:
                status = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if tid == str(pid):
            comm = "main (block_on)"
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        vol = int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        inv = int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        out[tid] = [comm, ticks, vol, inv]
    return out


def group(comm):
    # rokka names its tokio worker (and blocking pool) threads "rokka".
    if comm in ("rokka", "tokio-runtime-w"):
        return "tokio workers"
    return comm


def diff(a, b, n):
    hz = os.sysconf("SC_CLK_TCK")
    rows = {}
    for tid, (comm, t1, v1, i1) in b.items():
        _, t0, v0, i0 = a.get(tid, [comm, 0, 0, 0])
        r = rows.setdefault(group(comm), [0, 0, 0, 0])
        r[0] += t1 - t0
        r[1] += v1 - v0
        r[2] += i1 - i0
        r[3] += 1
    total = [sum(r[i] for r in rows.values()) for i in range(3)]
    print(f"{'thread':<22}{'n':>3}{'CPU us/msg':>12}{'vol cs/msg':>12}{'invol cs/msg':>14}")
    for name, (t, v, i, k) in sorted(rows.items(), key=lambda kv: -kv[1][0]):
        if t == 0 and v == 0 and i == 0:
            continue
        print(f"{name:<22}{k:>3}{t / hz * 1e6 / n:>12.1f}{v / n:>12.2f}{i / n:>14.2f}")
    print(f"{'total':<22}{'':>3}{total[0] / hz * 1e6 / n:>12.1f}{total[1] / n:>12.2f}{total[2] / n:>14.2f}")


if __name__ == "__main__":
    if sys.argv[1] == "snap":
        with open(sys.argv[3], "w") as f:
            json.dump(snap(sys.argv[2]), f)
    else:
        with open(sys.argv[2]) as f0, open(sys.argv[3]) as f1:
            diff(json.load(f0), json.load(f1), int(sys.argv[4]))
