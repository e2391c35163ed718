//! The state machine alone: pop, ack, change, expiry, orderly locking,
//! stale acks, and snapshot round trips.

use super::*;

fn q() -> QueueKey {
    QueueKey::new("g", "t", 0)
}

fn pop(msgs: &[(u64, u32)], pop_time: i64, next: u64, orderly: bool) -> Record {
    Record::Pop {
        q: q(),
        pop_time,
        invisible: 1000,
        orderly,
        msgs: msgs.to_vec(),
        next,
    }
}

#[test]
fn pop_ack_change_and_expiry() {
    let mut s = PopState::default();
    assert!(s.apply(&pop(&[(0, 0), (1, 0), (2, 0)], 10, 3, false)));
    let st = s.queue(&q()).unwrap();
    assert_eq!((st.next, st.inflight.len(), st.low_water()), (3, 3, 0));
    // An ack naming another delivery is ignored; the right one removes it.
    assert!(!s.apply(&Record::Ack {
        q: q(),
        offset: 0,
        pop_time: 9
    }));
    assert!(s.apply(&Record::Ack {
        q: q(),
        offset: 0,
        pop_time: 10
    }));
    assert!(!s.apply(&Record::Ack {
        q: q(),
        offset: 0,
        pop_time: 10
    }));
    assert_eq!(s.queue(&q()).unwrap().low_water(), 1);
    // Offset 1 gets 5 s more from t=500.
    assert!(s.apply(&Record::Change {
        q: q(),
        offset: 1,
        pop_time: 10,
        new_pop_time: 500,
        invisible: 5000
    }));
    // The old pop time no longer names it.
    assert!(!s.apply(&Record::Ack {
        q: q(),
        offset: 1,
        pop_time: 10
    }));
    let max = |_: &str| 16;
    assert!(s.expired(1009, &max).is_empty());
    let e = s.expired(1010, &max);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].offset, 2);
    assert!(s.apply(&Record::Revived {
        q: q(),
        offset: 2,
        pop_time: 10
    }));
    assert_eq!(s.expired(5499, &max), vec![]);
    assert_eq!(s.expired(5500, &max)[0].offset, 1);
    assert!(s.apply(&Record::Ack {
        q: q(),
        offset: 1,
        pop_time: 500
    }));
    assert_eq!(s.queue(&q()).unwrap().low_water(), 3);
}

#[test]
fn orderly_queue_is_locked_until_acked_or_expired() {
    let mut s = PopState::default();
    s.apply(&pop(&[(0, 0), (1, 0)], 0, 2, true));
    let st = s.queue(&q()).unwrap();
    assert!(st.locked(999));
    assert!(!st.locked(1000));
    // Expired orderly messages are redelivered in place, not revived...
    assert!(s.expired(1000, &|_| 16).is_empty());
    // ...until they had the group's attempts: then to the DLQ.
    s.apply(&pop(&[(0, 3), (1, 3)], 1000, 2, true));
    assert_eq!(s.expired(2000, &|_| 3).len(), 2);
    s.apply(&Record::Ack {
        q: q(),
        offset: 0,
        pop_time: 1000,
    });
    assert!(s.queue(&q()).unwrap().locked(1500));
    s.apply(&Record::Ack {
        q: q(),
        offset: 1,
        pop_time: 1000,
    });
    assert!(!s.queue(&q()).unwrap().locked(1500));
    assert_eq!(s.queue(&q()).unwrap().next, 2);
}

#[test]
fn snapshot_rebuilds_the_same_state() {
    let mut s = PopState::default();
    s.apply(&pop(&[(4, 0), (5, 2)], 10, 6, false));
    s.apply(&Record::Position {
        q: QueueKey::new("g", "u", 1),
        next: 9,
        orderly: true,
    });
    s.apply(&Record::Ack {
        q: q(),
        offset: 4,
        pop_time: 10,
    });
    let mut again = PopState::default();
    for r in s.snapshot() {
        again.apply(&r);
    }
    assert_eq!(again, s);
    // Records survive JSON (the journal's line format).
    for r in s.snapshot() {
        let line = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), r);
    }
}
