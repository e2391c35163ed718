//! No per-message heap allocation on the append path: a counting global
//! allocator watches the writer core (encode into the writer's reused
//! buffer, `pwrite` to the segment, ConsumeQueue and IndexFile dispatch,
//! publish) while it appends 10,000
//! messages and 1,000 Kafka batches on this thread. Requests are built first;
//! files are sized so that no segment, queue file or index file is created
//! while counting (those allocate once per file, not per message).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use rokka_store::internals::SyncWriter;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static WATCH: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if WATCH.with(|w| w.get()) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if WATCH.with(|w| w.get()) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn appending_allocates_nothing_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = rokka_store::StoreConfig::for_tests(dir.path());
    cfg.commit_log_segment_size = 64 << 20;
    cfg.consume_queue_entries_per_file = 100_000;
    cfg.index_hash_slots = 16_384;
    cfg.index_max_entries = 100_000;
    let mut w = SyncWriter::open(cfg).unwrap();
    let msgs: Vec<_> = (0..10_000u64)
        .map(|i| {
            rocket(
                "A",
                (i % 4) as u32,
                &body_for(1, i, 1024),
                props(&[("KEYS", &format!("k{i}")), ("TAGS", "T")]),
            )
        })
        .collect();
    let batches: Vec<_> = (0..1_000u64)
        .map(|i| {
            kafka(
                "B",
                (i % 2) as u32,
                &[b"a", b"bb", b"ccc"],
                vec![(0, bytes::Bytes::from(format!("kb{i}")))],
            )
        })
        .collect();
    // Warm up: create the queues, index file and first segment.
    for r in [
        &msgs[0],
        &msgs[1],
        &msgs[2],
        &msgs[3],
        &batches[0],
        &batches[1],
    ] {
        w.append(r).unwrap();
    }
    w.publish();

    // The counter sees this thread's allocations.
    WATCH.with(|x| x.set(true));
    let probe = std::hint::black_box(Box::new(7u64));
    WATCH.with(|x| x.set(false));
    drop(probe);
    assert_eq!(
        ALLOCS.swap(0, Ordering::Relaxed),
        1,
        "the counting allocator works"
    );

    WATCH.with(|x| x.set(true));
    for (i, r) in msgs.iter().enumerate().skip(4) {
        w.append(r).unwrap();
        if i % 64 == 0 {
            w.publish();
        }
    }
    for r in batches.iter().skip(2) {
        w.append(r).unwrap();
    }
    w.publish();
    WATCH.with(|x| x.set(false));
    let n = ALLOCS.load(Ordering::Relaxed);
    assert_eq!(
        n, 0,
        "{n} allocations while appending 10,000 messages and 1,000 batches"
    );
}
