//! Appends in flight are bounded by `max_pending_append_bytes`: appenders
//! beyond the budget wait (backpressure) instead of queueing without limit,
//! and an append larger than the whole budget still goes through.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use common::{kafka, props, rocket, small_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_in_flight_stay_within_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path());
    cfg.max_pending_append_bytes = 8 * 1024;
    cfg.flush_disk_type = rokka_store::FlushDiskType::SyncFlush;
    let registry = prometheus::Registry::new();
    let store = rokka_store::Store::open(cfg, &registry).unwrap();

    // Watch the in-flight bytes while 64 appenders of ~4 KiB race.
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (store, done, peak) = (store.clone(), done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(store.pending_append_bytes(), Ordering::Relaxed);
                std::hint::spin_loop();
            }
        })
    };
    let mut tasks = Vec::new();
    for i in 0..64u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let body = vec![b'a' + (i % 26) as u8; 4000];
            store
                .append(rocket("BP", 0, &body, props(&[("i", &i.to_string())])))
                .await
        }));
    }
    // One Kafka batch of 12 KiB: more than the whole budget.
    let big = vec![b'k'; 12 * 1024];
    let big = store.append(kafka("BP", 1, &[&big], Vec::new())).await;
    for t in tasks {
        t.await.unwrap().expect("append within the budget");
    }
    done.store(true, Ordering::Relaxed);
    watcher.join().unwrap();

    assert_eq!(big.expect("an append larger than the budget").count, 1);
    let cq = store.consume_queue("BP", 0).unwrap();
    assert_eq!(cq.max_offset(), 64);
    let peak = peak.load(Ordering::Relaxed);
    assert!(peak > 0, "the watcher saw appends in flight");
    assert!(peak <= 8 * 1024, "in flight {peak} bytes > budget");
    assert_eq!(store.pending_append_bytes(), 0);
    let waits = registry
        .gather()
        .into_iter()
        .find(|f| f.name() == "rokka_store_append_backpressure_waits_total")
        .map(|f| f.get_metric()[0].get_counter().get_value())
        .unwrap_or_default();
    assert!(waits >= 1.0, "some appenders waited ({waits})");
    // The blocking variant takes the same permits.
    let s = store.clone();
    let r =
        tokio::task::spawn_blocking(move || s.append_blocking(rocket("BP", 0, b"x", props(&[]))))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(r.queue_offset, 64);
}
