//! Client appends run on the caller's thread under the writer lock (ADR 022;
//! with SYNC_FLUSH they then wait for the group-commit thread's sync):
//! concurrent callers get unique, contiguous queue offsets and
//! non-overlapping log positions, everything reads back after a reopen, and
//! slave mode and shutdown refuse further appends.

mod common;

use common::*;
use rokka_store::{FlushDiskType, GetStatus, StoreError};

#[test]
fn concurrent_inline_appends_get_unique_contiguous_offsets() {
    concurrent_appends(FlushDiskType::AsyncFlush);
}

#[test]
fn concurrent_sync_flush_appends_get_unique_contiguous_offsets() {
    concurrent_appends(FlushDiskType::SyncFlush);
}

/// SYNC_FLUSH appends from many tokio tasks: each is answered (after its
/// group's sync), with contiguous offsets, and all of them read back.
#[test]
fn sync_flush_appends_from_tasks_are_all_answered() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path());
    cfg.flush_disk_type = FlushDiskType::SyncFlush;
    let store = open(cfg.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (tasks, per_task) = (32u64, 40u64);
    let mut qoffs: Vec<u64> = rt.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut out = Vec::new();
                    for i in 0..per_task {
                        let r = store
                            .append(rocket("S", 0, &body_for(t, i, 300), props(&[])))
                            .await
                            .unwrap();
                        out.push(r.queue_offset);
                    }
                    out
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        all
    });
    qoffs.sort_unstable();
    assert_eq!(qoffs, (0..tasks * per_task).collect::<Vec<_>>());
    store.shutdown().unwrap();
    drop(store);
    let store = open(cfg);
    assert_eq!(store.max_offset("S", 0), tasks * per_task);
    store.shutdown().unwrap();
}

fn concurrent_appends(flush: FlushDiskType) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path());
    cfg.flush_disk_type = flush;
    let (threads, per_thread) = (8u64, 150u64);
    let mut results = Vec::new();
    {
        let store = open(cfg.clone());
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let store = store.clone();
                    s.spawn(move || {
                        (0..per_thread)
                            .map(|i| {
                                let body = body_for(t, i, 700);
                                let r = if i % 3 == 0 {
                                    store.append_blocking(kafka("Q", 0, &[&body], vec![]))
                                } else {
                                    store.append_blocking(rocket("Q", 0, &body, props(&[])))
                                };
                                (t, i, r.unwrap())
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                results.extend(h.join().unwrap());
            }
        });
        // Readable right after the append returned: published inline.
        assert_eq!(store.max_offset("Q", 0), threads * per_thread);
        store.shutdown().unwrap();
        assert!(matches!(
            store.append_blocking(rocket("Q", 0, b"late", props(&[]))),
            Err(StoreError::Closed)
        ));
    }
    let mut qoffs: Vec<u64> = results.iter().map(|(_, _, r)| r.queue_offset).collect();
    qoffs.sort_unstable();
    assert_eq!(qoffs, (0..threads * per_thread).collect::<Vec<_>>());
    let mut spans: Vec<(u64, u64)> = results
        .iter()
        .map(|(_, _, r)| (r.phy_offset, r.phy_offset + r.bytes as u64))
        .collect();
    spans.sort_unstable();
    assert!(
        spans.windows(2).all(|w| w[0].1 <= w[1].0),
        "log ranges overlap"
    );

    let store = open(cfg);
    for (t, i, r) in &results {
        let g = store.get_messages("Q", 0, r.queue_offset, 1, usize::MAX, None);
        assert_eq!(g.status, GetStatus::Found);
        let e = &g.entries[0];
        assert_eq!(e.phy_offset, r.phy_offset);
        let body = body_for(*t, *i, 700);
        assert!(
            e.bytes.windows(body.len().max(1)).any(|w| w == &body[..]),
            "entry at {} holds the body appended there",
            r.queue_offset
        );
    }
    store.set_read_only(true);
    assert!(matches!(
        store.append_blocking(rocket("Q", 0, b"slave", props(&[]))),
        Err(StoreError::SlaveReadOnly)
    ));
    store.shutdown().unwrap();
}
