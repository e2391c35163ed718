"""Self-test of the hand-over checks in groups_lib.py on synthetic deliveries
(no broker needed): each check must pass a clean hand-over and flag a
window over the bound, a late or early start, a hole, a stray duplicate and
a lost message. Run by groups.sh before the real scenarios.
"""
import sys

import groups_lib as g


def d(eco, part, off, t):
    return g.Delivery(eco, eco, part, off, part * 1000 + off, t)


def scenario(first_upto, committed, second_from, upto=10):
    """Old phase delivers offsets [0, first_upto) per partition, the new one
    [second_from, upto); returns (produced, first, second, committed)."""
    produced = {p * 1000 + o: (p, o) for p in range(g.PARTITIONS) for o in range(upto)}
    first = [d("rocketmq", p, o, o) for p in range(g.PARTITIONS) for o in range(first_upto)]
    second = [d("kafka", p, o, 100 + o) for p in range(g.PARTITIONS) for o in range(second_from, upto)]
    return produced, first, second, {p: committed for p in range(g.PARTITIONS)}


def problems_of(produced, first, second, committed, bound=0, allowed=()):
    problems = []
    g.check_content(produced, first + second, problems)
    g.check_no_loss("t", produced, first + second, problems)
    window = g.check_handover("t", produced, first, second, committed, bound, problems, allowed)
    return problems, window


def main():
    failures = []

    def expect(name, ok):
        if not ok:
            failures.append(name)

    probs, window = problems_of(*scenario(5, 5, 5))
    expect("clean hand-over passes", not probs and set(window.values()) == {0})
    # Delivered 0..6, committed 5: offset 5 is in the window and delivered again.
    probs, window = problems_of(*scenario(6, 5, 5))
    expect("window 1 > bound 0 is flagged", any("window 1 > bound 0" in p for p in probs))
    probs, window = problems_of(*scenario(6, 5, 5), bound=1)
    expect("window 1 <= bound 1 passes", not probs and set(window.values()) == {1})
    probs, _ = problems_of(*scenario(5, 5, 6))
    expect("a late start (skip) is flagged", any("started partition" in p for p in probs)
           and any("never consumed" in p for p in probs))
    probs, _ = problems_of(*scenario(5, 5, 4))
    expect("an early start (re-delivery below the commit) is flagged",
           any("started partition" in p for p in probs) and any("delivered 2 times" in p for p in probs))
    produced, first, second, committed = scenario(5, 5, 5)
    probs, _ = problems_of(produced, [x for x in first if x.off != 2], second, committed)
    expect("a hole below the commit is flagged", any("holes" in p for p in probs))
    dup = second + [d("kafka", 0, 7, 500)]
    probs, _ = problems_of(produced, first, dup, committed)
    expect("a duplicate outside the window is flagged", any("delivered 2 times" in p for p in probs))
    probs, _ = problems_of(produced, first, dup, committed, allowed={(0, 7)})
    expect("a duplicate after a refused commit is allowed", not probs)
    wrong = second + [g.Delivery("kafka", "kafka", 1, 3, 999, 1)]
    probs, _ = problems_of(produced, first, wrong, committed)
    expect("a wrong seq at an offset is flagged", any("the producer wrote" in p for p in probs))
    if failures:
        print(f"[cross-groups] FAIL checker self-test: {failures}")
        sys.exit(1)
    print("[cross-groups] PASS checker self-test (9 cases)")


if __name__ == "__main__":
    main()
