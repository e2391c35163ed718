use bytes::Bytes;
use rokka_store::{AppendPayload, AppendRequest, MessageToStore, Store, StoreConfig};

use super::*;
use crate::timer_task;

const NOW: i64 = 1_700_000_000_000;

fn cfg() -> TimerConfig {
    TimerConfig::default()
}

fn decide_on(props: &[(&str, &str)]) -> Result<Decision, PutError> {
    decide(props, &cfg(), NOW)
}

#[test]
fn precedence_is_delay_sec_then_delay_ms_then_deliver_ms() {
    let all = [
        ("TIMER_DELIVER_MS", "1700000009000"),
        ("TIMER_DELAY_MS", "2500"),
        ("TIMER_DELAY_SEC", "7"),
    ];
    assert_eq!(decide_on(&all).unwrap(), Decision::Park(NOW + 7000));
    assert_eq!(decide_on(&all[..2]).unwrap(), Decision::Park(NOW + 2500));
    assert_eq!(decide_on(&all[..1]).unwrap(), Decision::Park(NOW + 9000));
    // The last of repeated keys counts, as a Java map would keep it.
    let twice = [("TIMER_DELAY_MS", "1"), ("TIMER_DELAY_MS", "40")];
    assert_eq!(decide_on(&twice).unwrap(), Decision::Park(NOW + 40));
}

#[test]
fn not_timers_and_due_now() {
    assert_eq!(decide_on(&[("TAGS", "a")]).unwrap(), Decision::NotTimer);
    let delivered = [("TIMER_DELAY_MS", "5000"), ("TIMER_OUT_MS", "1")];
    assert_eq!(decide_on(&delivered).unwrap(), Decision::NotTimer);
    assert_eq!(
        decide_on(&[("TIMER_DELIVER_MS", "1000")]).unwrap(),
        Decision::DueNow
    );
    assert_eq!(
        decide_on(&[("TIMER_DELAY_MS", "0")]).unwrap(),
        Decision::DueNow
    );
    assert_eq!(
        decide_on(&[("TIMER_DELAY_SEC", "-3")]).unwrap(),
        Decision::DueNow
    );
}

#[test]
fn refusals() {
    for bad in ["x", "1.5", "99999999999999999999"] {
        let r = decide_on(&[("TIMER_DELAY_MS", bad)]);
        assert!(
            matches!(r, Err(PutError::TimerIllegal(259_200_000))),
            "{bad}"
        );
    }
    let overflow = decide_on(&[("TIMER_DELAY_SEC", &i64::MAX.to_string())]);
    assert!(matches!(overflow, Err(PutError::TimerIllegal(_))));
    let max = 259_200i64 * 1000;
    let at_max = decide_on(&[("TIMER_DELAY_MS", &max.to_string())]).unwrap();
    assert_eq!(at_max, Decision::Park(NOW + max));
    let beyond = decide_on(&[("TIMER_DELAY_MS", &(max + 1).to_string())]);
    assert!(matches!(beyond, Err(PutError::TimerIllegal(_))));
    let off = TimerConfig {
        enable: false,
        ..cfg()
    };
    let r = decide(&[("TIMER_DELAY_MS", "10")], &off, NOW);
    assert!(matches!(r, Err(PutError::TimerNotEnabled)));
    assert_eq!(
        decide(&[("A", "b")], &off, NOW).unwrap(),
        Decision::NotTimer
    );
}

#[test]
fn rounding_follows_the_precision() {
    let sec = TimerConfig {
        precision_ms: 1000,
        ..cfg()
    };
    // NOW is a multiple of 1000: an exact multiple goes one step earlier.
    let d = |ms: &str| decide(&[("TIMER_DELAY_MS", ms)], &sec, NOW).unwrap();
    assert_eq!(d("2000"), Decision::Park(NOW + 1000));
    assert_eq!(d("2999"), Decision::Park(NOW + 2000));
    assert_eq!(
        decide_on(&[("TIMER_DELAY_MS", "2999")]).unwrap(),
        Decision::Park(NOW + 2999)
    );
}

#[test]
fn index_orders_by_due_and_guards_the_low_water_mark() {
    let t = Timers::new(&cfg(), &Registry::new(), 0);
    t.add(NOW + 50, 0, 100);
    t.add(NOW + 10, 1, 200);
    t.add(NOW + 10, 2, 300);
    assert_eq!(t.first_due(), Some(NOW + 10));
    assert_eq!(t.due(NOW + 9, 10), vec![]);
    assert_eq!(
        t.due(NOW + 10, 10),
        vec![(NOW + 10, 1, 200), (NOW + 10, 2, 300)]
    );
    assert_eq!(t.due(NOW + 10, 1).len(), 1);
    // Offset 0 is still pending: the mark stays there.
    assert_eq!(t.delivered(NOW + 10, 1), Some(0));
    let parking = t.begin_park().unwrap();
    assert_eq!(t.delivered(NOW + 10, 2), None, "a park is half-way");
    drop(parking);
    assert_eq!(
        t.delivered(NOW + 50, 0),
        Some(3),
        "all done: one past the last"
    );
    assert!(t.is_empty());
    assert_eq!(t.metrics.pending.get(), 0);
    t.add(NOW, 3, 400);
    t.postpone(NOW, 3, NOW + 1000);
    assert_eq!(t.first_due(), Some(NOW + 1000));
}

#[test]
fn flow_control_counts_pending_and_inflight() {
    let small = TimerConfig {
        max_pending: 2,
        ..cfg()
    };
    let t = Timers::new(&small, &Registry::new(), 0);
    t.add(NOW, 0, 0);
    let g = t.begin_park().unwrap();
    assert!(matches!(t.begin_park(), Err(PutError::TimerFlowControl(2))));
    drop(g);
    assert!(t.begin_park().is_ok());
}

fn append(store: &Store, queue: u32, body: &str, props: &str) {
    let m = MessageToStore {
        flag: 0,
        body: Bytes::from(body.to_owned()),
        sys_flag: 0,
        born_timestamp: 0,
        born_host: "127.0.0.1:1".parse().unwrap(),
        reconsume_times: 0,
        prepared_tx_offset: 0,
        properties: Bytes::from(props.to_owned()),
    };
    store
        .append_blocking(AppendRequest {
            topic: Bytes::from_static(TIMER_TOPIC.as_bytes()),
            queue_id: queue,
            payload: AppendPayload::Message(m),
        })
        .unwrap();
}

#[test]
fn load_rebuilds_from_the_mark_minus_delivered_markers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::for_tests(dir.path()), &Registry::new()).unwrap();
    for (i, due) in [5, 1, 9, 3, 7].iter().enumerate() {
        let props = format!("TIMER_OUT_MS\u{1}{}\u{2}REAL_TOPIC\u{1}t{i}", NOW + due);
        append(&store, 0, "m", &props);
    }
    append(&store, 0, "m", "REAL_TOPIC\u{1}no-due-time");
    // Offset 0 is below the mark; 3 was delivered above it.
    store
        .offsets()
        .commit(super::super::DELAY_PROGRESS_GROUP, TIMER_TOPIC, 0, 1, "");
    append(&store, 1, "3", "TAGS\u{1}delivered");
    append(&store, 1, "0", "TAGS\u{1}delivered");
    let t = timer_task::load(&store, &cfg(), &Registry::new());
    let due: Vec<(i64, u64)> = t.due(i64::MAX, 100).iter().map(|e| (e.0, e.1)).collect();
    assert_eq!(due, vec![(NOW + 1, 1), (NOW + 7, 4), (NOW + 9, 2)]);
    assert_eq!(t.metrics.pending.get(), 3);
    // All delivered: the mark moves past everything indexed so far.
    for (d, q) in due {
        t.delivered(d, q);
    }
    assert_eq!(t.delivered(0, 0), Some(6));
}

#[test]
fn resync_replaces_what_the_scan_covered() {
    let t = Timers::new(&cfg(), &Registry::new(), 0);
    t.add(NOW + 1, 0, 10); // delivered elsewhere meanwhile
    t.add(NOW + 2, 1, 11);
    t.add(NOW + 3, 5, 15); // parked after the scan
    t.resync(vec![(NOW + 2, 1, 11), (NOW + 4, 3, 13)], 5);
    let got: Vec<u64> = t.due(i64::MAX, 10).iter().map(|e| e.1).collect();
    assert_eq!(got, [1, 5, 3]);
    assert_eq!(t.metrics.pending.get(), 3);
}
