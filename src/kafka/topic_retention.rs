//! Per-topic retention (ADR 009): `retention.ms` and `retention.bytes` set
//! on a topic (or as dynamic broker defaults) are honoured by advancing each
//! partition's log start offset, the same logical deletion as DeleteRecords.
//! The CommitLog is shared by every topic, so bytes come back only when the
//! store's segment retention deletes whole segments; what this pass does
//! is make the expired records unreadable to both protocols at once.
//!
//! The pass runs every `log.retention.check.interval.ms` (tests set it low
//! to force a pass). Ages are store (append) times.

use std::sync::Arc;
use std::time::Duration;

use rokka_store::Store;
use tracing::{info, warn};

use super::topic_config;
use super::KafkaContext;

/// Most ConsumeQueue entries one partition's byte count reads.
const MAX_SCAN: u64 = 2_000_000;

/// Bytes of a partition's readable batches (each stored batch counted
/// once, though each of its records has a queue entry). Queues longer than
/// [`MAX_SCAN`] entries are extrapolated from their newest entries.
pub fn partition_bytes(store: &Store, topic: &str, queue: u32) -> u64 {
    let Some(cq) = store.consume_queue(topic, queue) else {
        return 0;
    };
    let (min, max) = (cq.min_offset(), cq.max_offset());
    let from = max.saturating_sub(MAX_SCAN).max(min);
    let (mut sum, mut last_phy) = (0u64, u64::MAX);
    for o in from..max {
        if let Some(e) = cq.get(o) {
            if e.phy_offset != last_phy {
                sum += u64::from(e.size);
                last_phy = e.phy_offset;
            }
        }
    }
    let scanned = max - from;
    if scanned == 0 || from == min {
        return sum;
    }
    sum.saturating_mul(max - min) / scanned
}

/// The first offset to keep so that at most `limit` bytes of whole batches
/// remain, scanning back from the end.
fn first_within_bytes(store: &Store, topic: &str, queue: u32, limit: u64) -> u64 {
    let Some(cq) = store.consume_queue(topic, queue) else {
        return 0;
    };
    let (min, max) = (cq.min_offset(), cq.max_offset());
    let (mut sum, mut last_phy, mut keep_from) = (0u64, u64::MAX, max);
    let mut o = max;
    while o > min && max - o < MAX_SCAN {
        o -= 1;
        let Some(e) = cq.get(o) else { break };
        if e.phy_offset != last_phy {
            sum += u64::from(e.size);
            last_phy = e.phy_offset;
            if sum > limit {
                return keep_from;
            }
        }
        keep_from = o;
    }
    keep_from
}

/// A topic's retention limits that this pass enforces: only values set on
/// the topic or as dynamic broker configs (the static `fileReservedTime`
/// is the store's segment retention).
fn limits(
    ctx: &KafkaContext,
    topic: &rokka_store::topics::TopicConfig,
) -> (Option<i64>, Option<i64>) {
    let dynamic = |name: &str| {
        let d = topic_config::find(name)?;
        let set = topic.attributes.contains_key(name)
            || d.broker_name
                .is_some_and(|b| !ctx.broker_configs.lookup(b).is_empty());
        let v = topic_config::effective_i64(ctx, topic, name)?;
        (set && v >= 0).then_some(v)
    };
    (dynamic("retention.ms"), dynamic("retention.bytes"))
}

/// One pass over every topic; returns the number of records made unreadable.
pub fn run_once(ctx: &KafkaContext, now_ms: i64) -> u64 {
    let store = &ctx.broker.store;
    let mut dropped = 0;
    for t in store.topics().list() {
        let (ms, bytes) = limits(ctx, &t);
        if ms.is_none() && bytes.is_none() {
            continue;
        }
        let queues = crate::broker::topics::partition_count(&t);
        for q in 0..queues {
            let min = store.min_offset(&t.topic_name, q);
            let mut keep = min;
            if let Some(ms) = ms {
                let cutoff = now_ms.saturating_sub(ms);
                keep = keep.max(store.offset_for_timestamp(&t.topic_name, q, cutoff));
            }
            if let Some(b) = bytes {
                let limit = u64::try_from(b).unwrap_or(0);
                keep = keep.max(first_within_bytes(store, &t.topic_name, q, limit));
            }
            if keep <= min {
                continue;
            }
            match store.delete_records(&t.topic_name, q, keep) {
                Some(Ok(low)) => {
                    dropped += low.saturating_sub(min);
                    info!(topic = %t.topic_name, partition = q, log_start = low, "retention advanced the log start");
                }
                Some(Err(e)) => {
                    warn!(topic = %t.topic_name, partition = q, error = %e, "retention pass failed")
                }
                None => {}
            }
        }
    }
    dropped
}

/// Runs [`run_once`] every `interval` until shutdown.
pub async fn run_timer(ctx: Arc<KafkaContext>, interval: Duration) {
    let shutdown = ctx.broker.clone();
    let passes = async {
        loop {
            tokio::time::sleep(interval).await;
            let c = Arc::clone(&ctx);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            // Reads queue files; keep it off the async workers.
            let _ = tokio::task::spawn_blocking(move || run_once(&c, now)).await;
        }
    };
    tokio::select! {
        () = passes => {}
        () = shutdown.shutdown_signal() => {}
    }
}
