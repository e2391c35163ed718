//! Timer delivery (ADR 019): the index is rebuilt at start from
//! `rmq_sys_wheel_timer` queue 0 (from the committed low-water mark) minus
//! the delivered markers of queue 1; one task sleeps until the earliest due
//! time and re-puts due messages to their real topic, then appends a marker
//! and moves the low-water mark. A SIGKILL between the re-put and the marker
//! re-delivers that message after the restart (at-least-once, as upstream).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use prometheus::Registry;
use rokka_protocols::remoting::message::{decode_message, encode_properties};
use rokka_store::{AppendPayload, AppendRequest, EntryKind, MessageToStore, Store};
use tracing::{info, warn};

use super::put::{put_message, restore_parked};
use super::timer::{now_ms, TimerConfig, Timers, TIMER_OUT_MS, TIMER_TOPIC};
use super::{Core, DELAY_PROGRESS_GROUP};

/// Delivered markers' queue in the timer topic.
const MARKER_QUEUE: u32 = 1;
/// Entries re-put per pass before the index lock is taken again.
const BATCH: usize = 256;
/// How long a failed delivery waits before it is tried again, ms.
const RETRY_MS: i64 = 1000;

/// The committed low-water mark of queue 0.
fn committed_mark(store: &Store) -> u64 {
    store
        .offsets()
        .fetch(DELAY_PROGRESS_GROUP, TIMER_TOPIC, 0)
        .map_or(0, |c| c.offset.max(0) as u64)
}

/// The queue 0 offsets named by delivered markers, at or above `mark`.
fn delivered_markers(store: &Store, mark: u64) -> HashSet<u64> {
    let Some(cq) = store.consume_queue(TIMER_TOPIC, MARKER_QUEUE) else {
        return HashSet::new();
    };
    (cq.min_offset()..cq.max_offset())
        .filter_map(|o| cq.get(o))
        .filter_map(|e| store.read_at(e.phy_offset))
        .filter_map(|e| decode_message(&e.bytes).ok())
        .filter_map(|(m, _)| std::str::from_utf8(&m.body).ok()?.parse::<u64>().ok())
        .filter(|q| *q >= mark)
        .collect()
}

/// The undelivered timer messages in the store, (due, queue 0 offset,
/// CommitLog offset), and the queue 0 end the scan stopped at.
fn scan(store: &Store) -> (Vec<(i64, u64, u64)>, u64) {
    let Some(cq) = store.consume_queue(TIMER_TOPIC, 0) else {
        return (Vec::new(), 0);
    };
    let mark = committed_mark(store).max(cq.min_offset());
    let done = delivered_markers(store, mark);
    let end = cq.max_offset();
    let mut out = Vec::new();
    for q in (mark..end).filter(|q| !done.contains(q)) {
        let due = cq
            .get(q)
            .and_then(|e| store.read_at(e.phy_offset))
            .filter(|e| e.kind == EntryKind::RocketMq)
            .and_then(|e| {
                let (m, _) = decode_message(&e.bytes).ok()?;
                Some((m.property(TIMER_OUT_MS)?.parse::<i64>().ok()?, e.phy_offset))
            });
        match due {
            Some((due, phy)) => out.push((due, q, phy)),
            None => warn!(offset = q, "unreadable timer entry skipped"),
        }
    }
    (out, end)
}

/// Rebuilds the index of undelivered timer messages from the store.
pub fn load(store: &Store, cfg: &TimerConfig, registry: &Registry) -> Timers {
    let (entries, end) = scan(store);
    let timers = Timers::new(cfg, registry, end);
    for (due, q, phy) in entries {
        timers.add(due, q, phy);
    }
    if !timers.is_empty() {
        info!(pending = timers.len(), "timer messages reloaded");
    }
    timers
}

/// Delivers due timer messages until shutdown.
/// A slave (read-only store) does not deliver; on promotion the index is
/// brought up to date with what the former master parked and delivered.
pub async fn run(broker: Core) {
    let timers = Arc::clone(&broker.timers);
    let mut was_slave = false;
    loop {
        if broker.store.is_read_only() {
            was_slave = true;
            tokio::select! {
                _ = broker.shutdown_signal() => break,
                _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
            }
        }
        if std::mem::take(&mut was_slave) {
            let (entries, end) = scan(&broker.store);
            timers.resync(entries, end);
            info!(
                pending = timers.len(),
                "timer index resynchronised after promotion"
            );
        }
        let wait = timers.first_due().map_or(Duration::from_secs(3600), |d| {
            Duration::from_millis((d - now_ms()).clamp(0, 3_600_000) as u64)
        });
        tokio::select! {
            _ = broker.shutdown_signal() => break,
            _ = timers.changed() => {}
            _ = tokio::time::sleep(wait) => deliver_due(&broker).await,
        }
    }
}

async fn deliver_due(broker: &Core) {
    let timers = &broker.timers;
    loop {
        let batch = timers.due(now_ms(), BATCH);
        if batch.is_empty() {
            return;
        }
        for (due, q, phy) in batch {
            match deliver(broker, phy).await {
                Ok(()) => {
                    let late = (now_ms() - due).max(0) as f64 / 1000.0;
                    timers.metrics.lateness.observe(late);
                    timers.metrics.delivered.inc();
                    mark_delivered(broker, q).await;
                    if let Some(mark) = timers.delivered(due, q) {
                        broker.store.offsets().commit(
                            DELAY_PROGRESS_GROUP,
                            TIMER_TOPIC,
                            0,
                            mark as i64,
                            "",
                        );
                    }
                }
                Err(e) => {
                    warn!(offset = q, "cannot deliver a timer message, retrying: {e}");
                    timers.postpone(due, q, now_ms() + RETRY_MS);
                }
            }
        }
    }
}

/// Re-puts the parked message at `phy` to its real topic.
async fn deliver(broker: &Core, phy: u64) -> Result<(), String> {
    let Some(entry) = broker.store.read_at(phy) else {
        warn!(phy, "a parked timer message was deleted before it was due");
        return Ok(());
    };
    match restore_parked(broker, &entry.bytes)? {
        Some(m) => put_message(broker, m)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        None => Ok(()),
    }
}

/// Appends the delivered marker of queue 0 offset `q`; a failure only means
/// a re-delivery after a restart.
async fn mark_delivered(broker: &Core, q: u64) {
    let marker = MessageToStore {
        flag: 0,
        body: Bytes::from(q.to_string()),
        sys_flag: 0,
        born_timestamp: now_ms(),
        born_host: broker.store.store_host(),
        reconsume_times: 0,
        prepared_tx_offset: 0,
        properties: encode_properties([("TAGS", "delivered")]).into(),
    };
    let r = broker
        .store
        .append(AppendRequest {
            topic: Bytes::from_static(TIMER_TOPIC.as_bytes()),
            queue_id: MARKER_QUEUE,
            payload: AppendPayload::Message(marker),
        })
        .await;
    if let Err(e) = r {
        warn!(offset = q, "could not record a timer delivery: {e}");
    }
}
