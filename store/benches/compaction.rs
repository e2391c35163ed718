//! The log cleaner's throughput (ADR 010) beside a raw read + write of the
//! same bytes, in the same run.
//!
//! A fresh store per round holds one compacted queue of 200,000 Kafka
//! records (batches of 10, 100-byte values, ~26 MB of log) over `KEYS`
//! distinct keys, written in random key order, flushed, page-cache warm.
//! Two key spaces: 1,000 keys (almost every record superseded: the pass
//! mostly drops whole batches) and 100,000 keys (about 1/e of the records
//! superseded: nearly every batch is rebuilt and re-appended).
//!
//! * `cleaner`: one `Store::compact_now` pass over the queue (read every
//!   entry, decode every record, build the key map, rebuild and append the
//!   survivors, sync them, journal and rewrite the ConsumeQueue, sync it);
//! * `raw`: read the same entries through `Store::get_messages` and write
//!   their bytes to a plain file with one `sync_all` at the end.
//!
//! MB/s = log bytes of the queue (what the cleaner reads) / seconds. Median
//! of `ROUNDS` rounds. Run: `cargo bench -p rokka-store --bench compaction`
//! (data under `$ROKKA_BENCH_DIR`, default the system temp dir).

#![allow(clippy::print_stdout)] // the bench prints its results

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rokka_store::topics::TopicConfig;
use rokka_store::{AppendPayload, AppendRequest, KafkaBatch, Store, StoreConfig};

const TOPIC: &str = "compacted";
const RECORDS: u64 = 200_000;
const PER_BATCH: u64 = 10;
const VALUE: usize = 100;
const ROUNDS: usize = 5;

fn bench_root() -> PathBuf {
    std::env::var_os("ROKKA_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn batch(keys: &[u64]) -> Bytes {
    let mut body = Vec::new();
    let value = vec![b'v'; VALUE];
    for (i, k) in keys.iter().enumerate() {
        let key = format!("key-{k:08}");
        let mut r = vec![0u8];
        put_varint(&mut r, 0);
        put_varint(&mut r, i as i64);
        put_varint(&mut r, key.len() as i64);
        r.extend_from_slice(key.as_bytes());
        put_varint(&mut r, VALUE as i64);
        r.extend_from_slice(&value);
        put_varint(&mut r, 0);
        put_varint(&mut body, r.len() as i64);
        body.extend_from_slice(&r);
    }
    let mut b = vec![0u8; 61];
    b[16] = 2;
    b[23..27].copy_from_slice(&(keys.len() as i32 - 1).to_be_bytes());
    b[43..51].copy_from_slice(&(-1i64).to_be_bytes());
    b[51..53].copy_from_slice(&(-1i16).to_be_bytes());
    b[53..57].copy_from_slice(&(-1i32).to_be_bytes());
    b[57..61].copy_from_slice(&(keys.len() as i32).to_be_bytes());
    b.extend_from_slice(&body);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(b)
}

/// A filled, flushed store and its queue's log bytes.
fn filled(dir: &std::path::Path, keys: u64) -> (Store, u64) {
    let mut cfg = StoreConfig::new(dir);
    cfg.commit_log_segment_size = 256 << 20;
    cfg.compaction_interval = Duration::from_secs(3600);
    cfg.clean_interval = Duration::from_secs(3600);
    let store = Store::open(cfg, &prometheus::Registry::new()).expect("open");
    let mut t = TopicConfig::new(TOPIC, 1);
    t.attributes
        .insert("cleanup.policy".into(), "compact".into());
    store.topics().put(t).expect("topic");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes = 0;
    for _ in 0..RECORDS / PER_BATCH {
        let ks: Vec<u64> = (0..PER_BATCH)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % keys
            })
            .collect();
        let r = store
            .append_blocking(AppendRequest {
                topic: Bytes::from_static(TOPIC.as_bytes()),
                queue_id: 0,
                payload: AppendPayload::Kafka(KafkaBatch {
                    batch: batch(&ks),
                    index_keys: Vec::new(),
                    tags_codes: Vec::new(),
                }),
            })
            .expect("append");
        bytes += u64::from(r.bytes);
    }
    store.flush().expect("flush");
    (store, bytes)
}

fn raw(store: &Store, out: &std::path::Path) -> u64 {
    let mut f = std::fs::File::create(out).expect("create");
    let (mut next, max, mut n) = (0, store.max_offset(TOPIC, 0), 0u64);
    while next < max {
        let r = store.get_messages(TOPIC, 0, next, 320, 256 * 1024, None);
        for e in &r.entries {
            f.write_all(&e.bytes).expect("write");
            n += e.bytes.len() as u64;
        }
        next = r.next_offset;
    }
    f.sync_all().expect("sync");
    n
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    for keys in [1_000u64, 100_000] {
        let (mut clean, mut copy) = (Vec::new(), Vec::new());
        let mut last = None;
        for _ in 0..ROUNDS {
            let dir = tempfile::tempdir_in(bench_root()).expect("tempdir");
            let (store, bytes) = filled(dir.path(), keys);
            let t = Instant::now();
            let n = raw(&store, &dir.path().join("raw.out"));
            copy.push(n as f64 / t.elapsed().as_secs_f64() / 1e6);
            let t = Instant::now();
            let rep = store.compact_now().expect("pass");
            clean.push(bytes as f64 / t.elapsed().as_secs_f64() / 1e6);
            assert_eq!(rep.bytes_cleaned, bytes);
            last = Some(rep);
            store.shutdown().expect("shutdown");
        }
        let rep = last.expect("a round ran");
        println!(
            "keys={keys:>6} log={:.1} MB removed={} copied={:.1} MB  cleaner {:.0} MB/s  raw read+write {:.0} MB/s",
            rep.bytes_cleaned as f64 / 1e6,
            rep.records_removed,
            rep.bytes_copied as f64 / 1e6,
            median(clean),
            median(copy),
        );
    }
}
