//! The engine on a real store: pop → ack, expiry → revive to the retry
//! topic and on to the DLQ, orderly redelivery, and everything read back
//! after a restart from the journal.

use std::sync::Arc;

use bytes::Bytes;
use prometheus::Registry;
use rokka_protocols::remoting::message::decode_message;
use rokka_store::topics::TopicConfig;
use rokka_store::{AppendPayload, AppendRequest, MessageToStore, Store, StoreConfig};

use super::revive::revive_once;
use super::*;

fn open_store(dir: &Path) -> Store {
    let store = Store::open(StoreConfig::for_tests(dir), &Registry::new()).unwrap();
    store
        .topics()
        .get_or_create(TopicConfig::new("t", 2))
        .unwrap();
    store
}

fn engine(dir: &Path, store: &Store) -> PopEngine {
    PopEngine::open(&dir.join("pop"), store.clone(), Arc::default()).unwrap()
}

async fn send(store: &Store, queue: u32, body: &str) {
    let m = MessageToStore {
        flag: 0,
        body: Bytes::copy_from_slice(body.as_bytes()),
        sys_flag: 0,
        born_timestamp: 1,
        born_host: "127.0.0.1:1".parse().unwrap(),
        reconsume_times: 0,
        prepared_tx_offset: 0,
        properties: Bytes::new(),
    };
    store
        .append(AppendRequest {
            topic: Bytes::from_static(b"t"),
            queue_id: queue,
            payload: AppendPayload::Message(m),
        })
        .await
        .unwrap();
}

fn req(orderly: bool) -> PopRequest<'static> {
    PopRequest {
        group: "g",
        topic: "t",
        queue: None,
        read_queues: 2,
        max: 32,
        invisible: 1000,
        orderly,
        from_min: true,
        filter: None,
    }
}

fn bodies(b: &PopBatch) -> Vec<(String, u32, String)> {
    let mut out: Vec<(String, u32, String)> = b
        .queues
        .iter()
        .flat_map(|q| {
            q.msgs.iter().map(|(_, a, bytes)| {
                let (m, _) = decode_message(bytes).unwrap();
                (
                    q.topic.clone(),
                    *a,
                    String::from_utf8(m.body.to_vec()).unwrap(),
                )
            })
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn acked_messages_never_return_and_unacked_ones_revive() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    for (q, b) in [(0, "a"), (0, "b"), (1, "c")] {
        send(&store, q, b).await;
    }
    let e = engine(dir.path(), &store);
    let first = e.pop(&req(false), 1000).unwrap();
    assert_eq!(first.len(), 3);
    assert_eq!(first.rest, 0);
    // Nothing is visible while in flight.
    assert!(e.pop(&req(false), 1500).unwrap().is_empty());
    // Ack "a" (queue 0 offset 0); "b" and "c" expire.
    let q0 = QueueKey::new("g", "t", 0);
    assert!(e.ack(&q0, 0, 1000).unwrap());
    assert!(!e.ack(&q0, 0, 1000).unwrap());
    assert_eq!(store.offsets().fetch("g", "t", 0).unwrap().offset, 1);
    let conv = ConvertedBatches::default();
    assert_eq!(revive_once(&e, &store, &conv, 1999).await, 0);
    // A read-only store (a slave, a demoted master) revives nothing.
    store.set_read_only(true);
    assert_eq!(revive_once(&e, &store, &conv, 2000).await, 0);
    let retry = retry_topic("g", "t");
    assert!(
        store.topics().get(&retry).is_none(),
        "a slave created {retry}"
    );
    store.set_read_only(false);
    assert_eq!(revive_once(&e, &store, &conv, 2000).await, 2);
    // The committed offset moves past revived messages.
    assert_eq!(store.offsets().fetch("g", "t", 0).unwrap().offset, 2);

    // Restart: the retry copies are popped with reconsume times 1, "a" never again.
    drop(e);
    let e = engine(dir.path(), &store);
    let again = e.pop(&req(false), 3000).unwrap();
    let retry = retry_topic("g", "t");
    assert_eq!(
        bodies(&again),
        vec![
            (retry.clone(), 1, "b".into()),
            (retry.clone(), 1, "c".into())
        ]
    );
    assert!(again.queues.iter().all(|q| q.retry));
    assert!(e.pop(&req(false), 3001).unwrap().is_empty());
}

#[tokio::test]
async fn dlq_after_the_groups_max_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    send(&store, 0, "x").await;
    let e = engine(dir.path(), &store);
    let conv = ConvertedBatches::default();
    let mut now = 0;
    // 17 deliveries (reconsume 0..=16), then the DLQ.
    for round in 0..=DEFAULT_MAX_ATTEMPTS {
        now += 10_000;
        let b = e.pop(&req(false), now).unwrap();
        assert_eq!(b.len(), 1, "round {round}");
        assert_eq!(b.queues[0].msgs[0].1, round);
        assert_eq!(revive_once(&e, &store, &conv, now + 1000).await, 1);
    }
    assert!(e.pop(&req(false), now + 20_000).unwrap().is_empty());
    let dlq = store.get_messages("%DLQ%g", 0, 0, 10, 1 << 20, None);
    assert_eq!(dlq.entries.len(), 1);
    let (m, _) = decode_message(&dlq.entries[0].bytes).unwrap();
    assert_eq!(m.reconsume_times, 17);
    assert_eq!(m.property("RETRY_TOPIC"), Some("t"));
}

#[tokio::test]
async fn orderly_pop_holds_the_queue_and_redelivers_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    for b in ["1", "2", "3"] {
        send(&store, 0, b).await;
    }
    let e = engine(dir.path(), &store);
    let mut r = req(true);
    r.queue = Some(0);
    r.max = 2;
    let b = e.pop(&r, 0).unwrap();
    assert_eq!(
        bodies(&b).iter().map(|x| x.2.as_str()).collect::<Vec<_>>(),
        ["1", "2"]
    );
    // Locked while the batch is invisible, even though "3" is waiting.
    assert!(e.pop(&r, 500).unwrap().is_empty());
    assert!(!e.has_messages("g", "t", &[0], true, 500));
    let q0 = QueueKey::new("g", "t", 0);
    e.ack(&q0, 0, 0).unwrap();
    // Expired with "2" un-acked: "2" again (attempt 1), survives a restart.
    drop(e);
    let e = engine(dir.path(), &store);
    assert!(e.has_messages("g", "t", &[0], true, 1000));
    let b = e.pop(&r, 1000).unwrap();
    assert_eq!(bodies(&b), vec![("t".into(), 1, "2".into())]);
    e.ack(&q0, 1, 1000).unwrap();
    let b = e.pop(&r, 1001).unwrap();
    assert_eq!(bodies(&b), vec![("t".into(), 0, "3".into())]);
    // Change invisible time: a stale pop time is refused, the right one moves it.
    assert_eq!(e.change_invisible(&q0, 2, 1000, 5000, 1500).unwrap(), None);
    assert_eq!(
        e.change_invisible(&q0, 2, 1001, 5000, 1500).unwrap(),
        Some(1500)
    );
    assert!(e.pop(&r, 6499).unwrap().is_empty());
    assert_eq!(e.pop(&r, 6500).unwrap().len(), 1);
}

#[tokio::test]
async fn new_queue_starts_at_the_end_unless_from_min_and_a_torn_line_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    send(&store, 0, "old").await;
    let e = engine(dir.path(), &store);
    let mut r = req(false);
    r.queue = Some(0);
    r.from_min = false;
    assert!(e.pop(&r, 0).unwrap().is_empty());
    send(&store, 0, "new").await;
    assert_eq!(bodies(&e.pop(&r, 1).unwrap())[0].2, "new");
    drop(e);
    // A crash in the middle of a write leaves a torn last line.
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("pop/journal.log"))
        .unwrap();
    f.write_all(b"{\"k\":\"ack\",\"q\":").unwrap();
    let e = engine(dir.path(), &store);
    let s = e.snapshot();
    let st = s.queue(&QueueKey::new("g", "t", 0)).unwrap();
    assert_eq!((st.next, st.inflight.len()), (2, 1));
}

#[tokio::test]
async fn a_read_limit_holds_back_what_is_stored_past_it_and_its_advance_wakes_a_parked_pop() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let e = engine(dir.path(), &store);
    send(&store, 0, "a").await;
    send(&store, 0, "b").await;
    let hw = Arc::new(AtomicU64::new(store.log_end()));
    let advanced = Arc::new(Notify::new());
    let (h, n) = (hw.clone(), advanced.clone());
    e.set_read_limit(
        Box::new(move || h.load(Ordering::SeqCst)),
        Box::new(move |t| {
            let n = n.clone();
            Box::pin(async move {
                let _ = tokio::time::timeout(t, n.notified()).await;
            })
        }),
    );
    // Stored, not yet below the limit (not on every in-sync replica).
    send(&store, 0, "c").await;
    send(&store, 0, "d").await;
    let r = PopRequest {
        queue: Some(0),
        ..req(false)
    };
    let got = |b: &PopBatch| bodies(b).into_iter().map(|x| x.2).collect::<Vec<_>>();
    assert_eq!(got(&e.pop(&r, 1_000).unwrap()), ["a", "b"]);
    assert!(e.pop(&r, 1_001).unwrap().is_empty());
    // A parked pop wakes when the limit may have moved, not at its timeout.
    let started = std::time::Instant::now();
    let wake = async {
        tokio::task::yield_now().await;
        hw.store(store.log_end(), Ordering::SeqCst);
        advanced.notify_waiters();
    };
    tokio::join!(e.wait("g", "t", &[0], Duration::from_secs(20)), wake);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(got(&e.pop(&r, 1_002).unwrap()), ["c", "d"]);
}
