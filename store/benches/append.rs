//! Append throughput (ASYNC_FLUSH) for 100 B, 1 KiB and 16 KiB message bodies,
//! side by side with the raw sequential-write bandwidth of the same directory.
//!
//! One criterion group per run, `append`, one `BenchmarkId` per body size and
//! these functions (throughput = CommitLog bytes, i.e. encoded entry bytes):
//!
//! * `raw_write`: plain `write(2)` of entry-sized chunks appended to a fresh
//!   file, then one `fdatasync` per batch of 16 MiB (the baseline asked for);
//! * `raw_write_1mib`: the same bytes in 1 MiB chunks, one `fdatasync` per
//!   batch (the best case of `write(2)`: page-aligned, few syscalls);
//! * `raw_write_1mib_nosync`: 1 MiB chunks without the `fdatasync` (page-cache
//!   bandwidth: the ceiling for the un-synced variants below);
//! * `rokka_writer`: the writer core (`internals::SyncWriter`) on the bench
//!   thread: encode + ConsumeQueue dispatch + publish, no sync (ASYNC_FLUSH
//!   acknowledges from the page cache);
//! * `rokka_writer_synced`: the same plus one `sync()` (fdatasync) per 16 MiB batch,
//!   the like-for-like comparison with `raw_write`;
//! * `rokka_append_blocking`: `Store::append_blocking` from one thread: one
//!   request in flight, so every append pays the channel hop to the writer
//!   thread and the wake-up back;
//! * `rokka_append_async_w256`: `Store::append` from one current-thread tokio
//!   runtime with 256 appends in flight (what many producers look like).
//!
//! One iteration is a batch of 16 MiB of entries (4 MiB for the two `Store`
//! variants, which never sync inside the measurement).
//!
//! Every sample starts from an empty directory, so the CommitLog's segment
//! creation (posix_fallocate of 256 MiB + directory fsync, once per 256 MiB)
//! and the first-touch page faults of every mapped page are timed.
//!
//! Run: `cargo bench -p rokka-store
//! --all-features --bench append`. Data goes under `$ROKKA_BENCH_DIR` (default:
//! the system temp dir).

use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use rokka_store::internals::SyncWriter;
use rokka_store::{
    AppendPayload, AppendRequest, FlushDiskType, MessageToStore, Store, StoreConfig,
};

const TOPIC: &str = "BenchTopic";
const SEGMENT: u64 = 256 << 20;
/// Bytes appended per criterion iteration (and per sync in the synced variants).
const BATCH_BYTES: usize = 16 << 20;
/// The `Store` variants append BATCH_BYTES / this per iteration.
const STORE_BATCH_DIVISOR: usize = 4;
/// Appends in flight in the async variant.
const WINDOW: usize = 256;

fn bench_root() -> PathBuf {
    std::env::var_os("ROKKA_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

fn fresh_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("rokka-bench-append")
        .tempdir_in(bench_root())
        .expect("temp dir")
}

fn config(dir: &std::path::Path) -> StoreConfig {
    let mut c = StoreConfig::new(dir);
    c.commit_log_segment_size = SEGMENT;
    c.flush_disk_type = FlushDiskType::AsyncFlush;
    c
}

fn request(body_len: usize) -> AppendRequest {
    let body: Vec<u8> = (0..body_len).map(|i| (i * 31 + 7) as u8).collect();
    AppendRequest {
        topic: Bytes::from_static(TOPIC.as_bytes()),
        queue_id: 0,
        payload: AppendPayload::Message(MessageToStore {
            flag: 0,
            body: Bytes::from(body),
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: "127.0.0.1:40000".parse().expect("addr"),
            reconsume_times: 0,
            prepared_tx_offset: 0,
            properties: Bytes::from_static(b"TAGS\x01TagA\x02"),
        }),
    }
}

fn entry_len(req: &AppendRequest, dir: &std::path::Path) -> usize {
    let AppendPayload::Message(m) = &req.payload else {
        unreachable!()
    };
    rokka_store::entry::rocketmq::encoded_len(m, TOPIC.len(), &config(dir).store_host)
}

/// `iters` batches of `total` bytes written in `chunk`-byte pieces to a fresh
/// file, each batch then fdatasync'd if `sync`.
fn raw_write(iters: u64, total: usize, chunk: usize, sync: bool) -> Duration {
    let dir = fresh_dir();
    let path = dir.path().join("raw");
    let mut f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)
        .expect("raw file");
    let buf: Vec<u8> = (0..chunk).map(|i| (i * 13 + 1) as u8).collect();
    let start = Instant::now();
    for _ in 0..iters {
        let mut left = total;
        while left > 0 {
            let k = left.min(chunk);
            f.write_all(&buf[..k]).expect("write");
            left -= k;
        }
        if sync {
            f.sync_data().expect("fdatasync");
        }
    }
    let t = start.elapsed();
    drop(f);
    t
}

fn writer(iters: u64, n: usize, req: &AppendRequest, sync: bool) -> Duration {
    let dir = fresh_dir();
    let mut w = SyncWriter::open(config(dir.path())).expect("open writer");
    let start = Instant::now();
    for _ in 0..iters {
        for _ in 0..n {
            black_box(w.append(req).expect("append"));
        }
        w.publish();
        if sync {
            w.sync().expect("sync");
        }
    }
    let t = start.elapsed();
    drop(w);
    t
}

fn open_store(dir: &std::path::Path) -> Store {
    Store::open(config(dir), &prometheus::Registry::new()).expect("open store")
}

fn append_blocking(iters: u64, n: usize, req: &AppendRequest) -> Duration {
    let dir = fresh_dir();
    let store = open_store(dir.path());
    let start = Instant::now();
    for _ in 0..iters {
        for _ in 0..n {
            black_box(store.append_blocking(req.clone()).expect("append"));
        }
    }
    let t = start.elapsed();
    // Dropped without shutdown: the un-synced tail is discarded with the directory
    // instead of being written back during the next measurement.
    drop(store);
    t
}

fn append_async(
    rt: &tokio::runtime::Runtime,
    iters: u64,
    n: usize,
    req: &AppendRequest,
) -> Duration {
    let dir = fresh_dir();
    let store = open_store(dir.path());
    let t = rt.block_on(async {
        let mut set: tokio::task::JoinSet<rokka_store::Result<rokka_store::AppendResult>> =
            tokio::task::JoinSet::new();
        let start = Instant::now();
        for _ in 0..iters {
            for _ in 0..n {
                if set.len() >= WINDOW {
                    set.join_next()
                        .await
                        .expect("task")
                        .expect("join")
                        .expect("append");
                }
                let (s, r) = (store.clone(), req.clone());
                set.spawn(async move { s.append(r).await });
            }
        }
        while let Some(r) = set.join_next().await {
            r.expect("join").expect("append");
        }
        start.elapsed()
    });
    drop(store);
    t
}

fn bench_append(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("append");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (label, body) in [("100B", 100usize), ("1KiB", 1024), ("16KiB", 16 * 1024)] {
        let req = request(body);
        let chunk = entry_len(&req, &bench_root());
        let n = BATCH_BYTES / chunk;
        let total = n * chunk;
        g.throughput(Throughput::Bytes(total as u64));
        g.bench_function(BenchmarkId::new("raw_write", label), |b| {
            b.iter_custom(|iters| raw_write(iters, total, chunk, true))
        });
        g.bench_function(BenchmarkId::new("raw_write_1mib", label), |b| {
            b.iter_custom(|iters| raw_write(iters, total, 1 << 20, true))
        });
        g.bench_function(BenchmarkId::new("raw_write_1mib_nosync", label), |b| {
            b.iter_custom(|iters| raw_write(iters, total, 1 << 20, false))
        });
        g.bench_function(BenchmarkId::new("rokka_writer", label), |b| {
            b.iter_custom(|iters| writer(iters, n, &req, false))
        });
        g.bench_function(BenchmarkId::new("rokka_writer_synced", label), |b| {
            b.iter_custom(|iters| writer(iters, n, &req, true))
        });
        // Nothing syncs in these two, so a smaller batch measures the same
        // rate and keeps the slow 100 B round trips within the time budget.
        let n = n / STORE_BATCH_DIVISOR;
        g.throughput(Throughput::Bytes((n * chunk) as u64));
        g.bench_function(BenchmarkId::new("rokka_append_blocking", label), |b| {
            b.iter_custom(|iters| append_blocking(iters, n, &req))
        });
        g.bench_function(BenchmarkId::new("rokka_append_async_w256", label), |b| {
            b.iter_custom(|iters| append_async(&rt, iters, n, &req))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_append);
criterion_main!(benches);
