//! No per-message heap allocation on the append path: a counting global
//! allocator watches the writer core (encode into the writer's reused
//! buffer, `pwrite` to the segment, ConsumeQueue and IndexFile dispatch,
//! publish) while it appends 10,000
//! messages and 1,000 Kafka batches on this thread. Requests are built first;
//! files are sized so that no segment, queue file or index file is created
//! while counting (those allocate once per file, not per message).
//!
//! Nor on the read path: a read of 1,000 stored messages (what a pull or a
//! fetch returns, as zero-copy slices of the mapped log) allocates a few
//! times per read, not once per message.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::*;
use rokka_store::internals::SyncWriter;

struct Counting;

thread_local! {
    static WATCH: Cell<bool> = const { Cell::new(false) };
    /// Allocations this thread made while watched (tests run side by side).
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    if WATCH.with(|w| w.get()) {
        ALLOCS.with(|n| n.set(n.get() + 1));
    }
}

/// Allocations made by `f` on this thread.
fn allocations_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    ALLOCS.with(|n| n.set(0));
    WATCH.with(|x| x.set(true));
    let r = f();
    WATCH.with(|x| x.set(false));
    (r, ALLOCS.with(|n| n.get()))
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
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
    let (probe, n) = allocations_of(|| std::hint::black_box(Box::new(7u64)));
    drop(probe);
    assert_eq!(n, 1, "the counting allocator works");

    let ((), n) = allocations_of(|| {
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
    });
    assert_eq!(
        n, 0,
        "{n} allocations while appending 10,000 messages and 1,000 batches"
    );
}

#[test]
fn reading_allocates_per_read_not_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = rokka_store::StoreConfig::for_tests(dir.path());
    cfg.commit_log_segment_size = 64 << 20;
    let store = open(cfg);
    for i in 0..2_000u64 {
        let r = rocket("R", 0, &body_for(2, i, 1024), props(&[("TAGS", "T")]));
        store.append_blocking(r).unwrap();
    }
    let warm = store.get_messages("R", 0, 0, 8, usize::MAX, None);
    assert_eq!(warm.entries.len(), 8);
    let (r, n) = allocations_of(|| store.get_messages("R", 0, 500, 1_000, 64 << 20, None));
    assert_eq!(r.status, rokka_store::GetStatus::Found);
    assert_eq!(r.entries.len(), 1_000);
    assert_eq!(r.entries[0].queue_offset, 500);
    assert_eq!(r.next_offset, 1_500);
    // The entries vector grows a few times; one view of the segment.
    assert!(n <= 8, "{n} allocations reading 1,000 messages");
}
