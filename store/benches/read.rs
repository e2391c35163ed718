//! Reading 1 KiB messages through the ConsumeQueue from the page cache, on the
//! bench thread (one core), beside a memcpy of the same bytes.
//!
//! The store is filled once with 100,000 messages of 1 KiB body (1143-byte
//! entries, ~114 MB, one queue, one 256 MiB segment) and flushed, so every page
//! is resident. One iteration is a full pass over the queue:
//!
//! * `rokka_get_messages`: `Store::get_messages(topic, 0, offset, 32, 256 KiB,
//!   None)` from offset 0 to the end, following `next_offset` (each entry is
//!   located through the ConsumeQueue, validated (including its body CRC) and
//!   returned as a zero-copy `Bytes` over the mapped segment);
//! * `memcpy`: the same byte range of the same segment file, mapped read-only,
//!   copied in 32-entry chunks into one reused buffer.
//!
//! Throughput is the entry bytes of one pass (CommitLog bytes, headers included).
//!
//! Run: `cargo bench -p rokka-store
//! --all-features --bench read`. Data goes under `$ROKKA_BENCH_DIR` (default:
//! the system temp dir).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use rokka_store::{
    AppendPayload, AppendRequest, FlushDiskType, GetStatus, MessageToStore, Store, StoreConfig,
};

const TOPIC: &str = "BenchTopic";
const MESSAGES: u64 = 100_000;
const BODY: usize = 1024;
const PER_READ: u32 = 32;
const MAX_BYTES: usize = 256 * 1024;

fn bench_root() -> PathBuf {
    std::env::var_os("ROKKA_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

fn message(i: u64) -> MessageToStore {
    let body: Vec<u8> = (0..BODY).map(|j| (j as u64 * 31 + i) as u8).collect();
    MessageToStore {
        flag: 0,
        body: Bytes::from(body),
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:40000".parse().expect("addr"),
        reconsume_times: 0,
        prepared_tx_offset: 0,
        properties: Bytes::from_static(b"TAGS\x01TagA\x02"),
    }
}

/// Fills a fresh store; returns it, its directory and the log's end offset.
fn filled_store() -> (tempfile::TempDir, Store, u64) {
    let dir = tempfile::Builder::new()
        .prefix("rokka-bench-read")
        .tempdir_in(bench_root())
        .expect("temp dir");
    let mut cfg = StoreConfig::new(dir.path());
    cfg.commit_log_segment_size = 256 << 20;
    cfg.flush_disk_type = FlushDiskType::AsyncFlush;
    let store = Store::open(cfg, &prometheus::Registry::new()).expect("open store");
    let batch = 1000;
    for start in (0..MESSAGES).step_by(batch) {
        let msgs = (start..(start + batch as u64).min(MESSAGES))
            .map(message)
            .collect();
        store
            .append_blocking(AppendRequest {
                topic: Bytes::from_static(TOPIC.as_bytes()),
                queue_id: 0,
                payload: AppendPayload::Messages(msgs),
            })
            .expect("append");
    }
    store.flush().expect("flush");
    assert_eq!(store.max_offset(TOPIC, 0), MESSAGES);
    let (min, end) = store.commit_log_bounds();
    assert_eq!(min, 0);
    assert!(end < 256 << 20, "the data fits one segment");
    (dir, store, end)
}

/// One pass over the queue; returns the bytes of the entries read.
fn read_pass(store: &Store) -> u64 {
    let (mut offset, mut bytes) = (0u64, 0u64);
    while offset < MESSAGES {
        let r = store.get_messages(TOPIC, 0, offset, PER_READ, MAX_BYTES, None);
        debug_assert_eq!(r.status, GetStatus::Found);
        for e in &r.entries {
            bytes += e.bytes.len() as u64;
        }
        offset = r.next_offset;
        black_box(r);
    }
    bytes
}

fn bench_read(c: &mut Criterion) {
    let (dir, store, end) = filled_store();
    let pass_bytes = read_pass(&store);
    assert_eq!(pass_bytes, end, "a pass reads the whole log");
    let entry = (end / MESSAGES) as usize;
    let seg = std::fs::read_dir(dir.path().join("commitlog"))
        .expect("commitlog dir")
        .map(|e| e.expect("dir entry").path())
        .next()
        .expect("one segment");
    let file = std::fs::File::open(&seg).expect("segment");
    // SAFETY: the segment is not truncated while mapped (the store only appends,
    // and nothing appends during the bench); the map is read-only.
    let map =
        unsafe { memmap2::MmapOptions::new().len(end as usize).map(&file) }.expect("map segment");
    let chunk = entry * PER_READ as usize;
    let mut dst = vec![0u8; chunk];

    let mut g = c.benchmark_group("read");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes(pass_bytes));
    g.bench_function(BenchmarkId::new("rokka_get_messages", "1KiB"), |b| {
        b.iter(|| black_box(read_pass(&store)))
    });
    g.bench_function(BenchmarkId::new("memcpy", "1KiB"), |b| {
        b.iter(|| {
            for src in map.chunks(chunk) {
                dst[..src.len()].copy_from_slice(src);
                black_box(&mut dst);
            }
        })
    });
    g.finish();
    drop(map);
    store.shutdown().expect("shutdown");
}

criterion_group!(benches, bench_read);
criterion_main!(benches);
