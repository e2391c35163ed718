//! SYNC_FLUSH group commit: appends/s and p99 latency with 1, 16 and 128
//! concurrent appenders, beside the raw `write` + `fdatasync` rate of the same
//! directory measured in the same run.
//!
//! For each appender count N, a fresh store (SYNC_FLUSH, 256 MiB segments) is
//! opened and N tokio tasks on a multi-thread runtime (one worker per core) each
//! loop `store.append(1 KiB message).await`. The first 300 ms are warm-up (the
//! first segment is created then); appends completing in the next 3 s are
//! counted and their latencies kept for the p99. Each point is repeated 3 times
//! and the median is printed, with the mean of `rokka_store_group_commit_size`
//! (requests per writer round) and of `rokka_store_fsync_seconds` (writer and
//! flusher syncs) over the run. The baselines, one thread each: `write` 1 KiB +
//! `fdatasync` in a loop, appending to a fresh file (the asked-for baseline,
//! `vs raw`), and the same over a fresh `posix_fallocate`d file (the store's
//! segments are preallocated, so each sync need not persist a new file size).
//!
//! Run: `cargo bench -p rokka-store
//! --all-features --bench sync_flush`. Data goes under `$ROKKA_BENCH_DIR`
//! (default: the system temp dir).
#![allow(clippy::print_stdout)]

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rokka_store::{
    AppendPayload, AppendRequest, FlushDiskType, MessageToStore, Store, StoreConfig,
};

const WARM_UP: Duration = Duration::from_millis(300);
const WINDOW: Duration = Duration::from_secs(3);
const REPEATS: usize = 3;
const BODY: usize = 1024;
/// Size of the preallocated raw file (far more than 3 s of 1 KiB syncs).
const RAW_PREALLOC: usize = 256 << 20;

fn bench_root() -> PathBuf {
    std::env::var_os("ROKKA_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

fn fresh_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("rokka-bench-sync")
        .tempdir_in(bench_root())
        .expect("temp dir")
}

fn request() -> AppendRequest {
    let body: Vec<u8> = (0..BODY).map(|i| (i * 31 + 7) as u8).collect();
    AppendRequest {
        topic: Bytes::from_static(b"BenchTopic"),
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

/// One measurement: rate (per second), p99 latency, mean group size.
#[derive(Debug, Clone, Copy)]
struct Point {
    rate: f64,
    p50: Duration,
    p99: Duration,
    /// Mean requests per writer round.
    group: f64,
    /// Mean seconds per CommitLog sync (writer and flusher).
    sync: f64,
}

/// The `q` quantile (nearest rank) of sorted latencies.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

fn point(mut lat: Vec<Duration>, window: Duration, group: f64, sync: f64) -> Point {
    lat.sort_unstable();
    Point {
        rate: lat.len() as f64 / window.as_secs_f64(),
        p50: quantile(&lat, 0.50),
        p99: quantile(&lat, 0.99),
        group,
        sync,
    }
}

/// Mean of a histogram of the store's registry.
fn histogram_mean(registry: &prometheus::Registry, name: &str) -> f64 {
    registry
        .gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric())
        .map(|m| {
            let h = m.get_histogram();
            h.get_sample_sum() / (h.get_sample_count().max(1) as f64)
        })
        .next()
        .unwrap_or(f64::NAN)
}

fn run_store(rt: &tokio::runtime::Runtime, appenders: usize) -> Point {
    let dir = fresh_dir();
    let mut cfg = StoreConfig::new(dir.path());
    cfg.commit_log_segment_size = 256 << 20;
    cfg.flush_disk_type = FlushDiskType::SyncFlush;
    let registry = prometheus::Registry::new();
    let store = Store::open(cfg, &registry).expect("open store");
    let req = request();
    let t0 = Instant::now();
    let (from, to) = (t0 + WARM_UP, t0 + WARM_UP + WINDOW);
    let lats: Vec<Vec<Duration>> = rt.block_on(async {
        let tasks: Vec<_> = (0..appenders)
            .map(|_| {
                let (store, req) = (store.clone(), req.clone());
                tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(1 << 16);
                    loop {
                        let start = Instant::now();
                        if start >= to {
                            break;
                        }
                        store.append(req.clone()).await.expect("append");
                        let end = Instant::now();
                        if end >= from && end < to {
                            lat.push(end - start);
                        }
                    }
                    lat
                })
            })
            .collect();
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    });
    let group = histogram_mean(&registry, "rokka_store_group_commit_size");
    let sync = histogram_mean(&registry, "rokka_store_fsync_seconds");
    drop(store);
    point(lats.into_iter().flatten().collect(), WINDOW, group, sync)
}

/// `write` 1 KiB + `fdatasync` in a loop for WINDOW, appending to a fresh file
/// or, if `prealloc`, writing over a fresh `posix_fallocate`d one (as the
/// store's segments are).
fn run_raw(prealloc: bool) -> Point {
    let dir = fresh_dir();
    let mut f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(dir.path().join("raw"))
        .expect("raw file");
    if prealloc {
        // SAFETY: plain syscall on a file descriptor we own.
        let rc = unsafe { libc::posix_fallocate(f.as_raw_fd(), 0, RAW_PREALLOC as libc::off_t) };
        assert_eq!(rc, 0, "posix_fallocate");
    }
    let buf = vec![0x5au8; BODY];
    let mut lat = Vec::with_capacity(1 << 16);
    let t0 = Instant::now();
    let mut written = 0;
    while t0.elapsed() < WINDOW && written + BODY <= RAW_PREALLOC {
        let start = Instant::now();
        f.write_all(&buf).expect("write");
        f.sync_data().expect("fdatasync");
        lat.push(start.elapsed());
        written += BODY;
    }
    point(lat, t0.elapsed(), 1.0, f64::NAN)
}

fn median(mut v: Vec<Point>) -> Point {
    let mid = v.len() / 2;
    let rate = {
        v.sort_by(|a, b| a.rate.total_cmp(&b.rate));
        v[mid].rate
    };
    let p50 = {
        v.sort_by_key(|p| p.p50);
        v[mid].p50
    };
    let p99 = {
        v.sort_by_key(|p| p.p99);
        v[mid].p99
    };
    let group = {
        v.sort_by(|a, b| a.group.total_cmp(&b.group));
        v[mid].group
    };
    let sync = {
        v.sort_by(|a, b| a.sync.total_cmp(&b.sync));
        v[mid].sync
    };
    Point {
        rate,
        p50,
        p99,
        group,
        sync,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; filters and `--list` are not supported.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "sync_flush: {} runs of {:?} (after {:?} warm-up) per row, medians; 1 KiB bodies; dir {}",
        REPEATS,
        WINDOW,
        WARM_UP,
        bench_root().display()
    );
    // Interleave the baselines with the store runs so that drift hits all rows.
    let counts = [1usize, 16, 128];
    let (mut raw, mut raw_pre) = (Vec::new(), Vec::new());
    let mut points: Vec<Vec<Point>> = vec![Vec::new(); counts.len()];
    for _ in 0..REPEATS {
        raw.push(run_raw(false));
        raw_pre.push(run_raw(true));
        for (i, n) in counts.iter().enumerate() {
            points[i].push(run_store(&rt, *n));
        }
    }
    let raw = median(raw);
    let mut rows = vec![
        ("raw append 1 KiB + fdatasync".to_string(), raw),
        (
            "raw fallocated 1 KiB + fdatasync".to_string(),
            median(raw_pre),
        ),
    ];
    for (n, p) in counts.iter().zip(points) {
        rows.push((format!("rokka SYNC_FLUSH, {n} appender(s)"), median(p)));
    }
    let single = rows[2].1.rate;
    let ms = |d: f64| d * 1e3;
    println!();
    println!(
        "| {:<33} | {:>9} | {:>6} | {:>6} | {:>9} | {:>6} | {:>10} | {:>12} |",
        "case",
        "appends/s",
        "p50 ms",
        "p99 ms",
        "vs 1 app.",
        "vs raw",
        "group mean",
        "sync mean ms"
    );
    println!(
        "|{:-<35}|{:->11}|{:->8}|{:->8}|{:->11}|{:->8}|{:->12}|{:->14}|",
        "", "", "", "", "", "", "", ""
    );
    for (i, (name, p)) in rows.iter().enumerate() {
        let (vs_one, group, sync) = if i < 2 {
            ("-".to_string(), "-".to_string(), "-".to_string())
        } else {
            (
                format!("{:.1}x", p.rate / single),
                format!("{:.1}", p.group),
                format!("{:.3}", ms(p.sync)),
            )
        };
        println!(
            "| {:<33} | {:>9.0} | {:>6.2} | {:>6.2} | {:>9} | {:>6.2} | {:>10} | {:>12} |",
            name,
            p.rate,
            ms(p.p50.as_secs_f64()),
            ms(p.p99.as_secs_f64()),
            vs_one,
            p.rate / raw.rate,
            group,
            sync
        );
    }
}
