#!/usr/bin/env python3
"""Off-CPU view for conformance/perf/profile.sh (STATES=1): what rokka's threads wait on.

    states.py PID SECONDS

Samples every thread of PID every half millisecond for SECONDS (or until
PID exits, or SIGTERM) and prints, per thread name, the average number of
its threads found in each state: R (running or waiting for a CPU) or, for
a sleeping (S) or uninterruptible (D) thread, the kernel function it sleeps
in (/proc/<pid>/task/<tid>/wchan; `futex_do_wait` is a lock, a condvar or
an idle tokio worker, `do_epoll_wait` the tokio I/O driver, `folio_wait_bit`
and `submit_bio_wait` write-back). Tokio workers are all named `rokka`.
"""
import collections
import os
import signal
import sys
import time


def sample(pid, counts):
    """One pass over PID's threads; False once PID is gone."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tids:
        base = f"/proc/{pid}/task/{tid}/"
        try:
            with open(base + "comm") as f:
                comm = f.read().strip()
            with open(base + "stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            where = "-"
            if state != "R":
                with open(base + "wchan") as f:
                    where = f.read().strip() or "-"
        except OSError:
            continue
        counts[(comm, state, where)] += 1
    return True


def main():
    pid, seconds = sys.argv[1], float(sys.argv[2])
    counts = collections.Counter()
    samples = 0

    def stop(_sig, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end and sample(pid, counts):
            samples += 1
            time.sleep(0.0005)
    except KeyboardInterrupt:
        pass
    print(f"thread states over {samples} samples (average threads in each)")
    print(f"{'thread':18} {'state':5} {'waits in':28} {'threads':>7}")
    for (comm, state, where), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1])):
        if n / max(samples, 1) >= 0.01:
            print(f"{comm:18} {state:5} {where:28} {n / max(samples, 1):7.2f}")


if __name__ == "__main__":
    main()
