//! Delay levels (rocketmq-remoting §10.2): a message with `DELAY` = n > 0 is
//! parked in `SCHEDULE_TOPIC_XXXX` queue n − 1 with `REAL_TOPIC`/`REAL_QID`
//! (`broker/delay.rs`, applied by `broker::put`), and this task re-puts it to its real topic and queue once
//! `store time + level delay` has passed. Queues are in due order per level,
//! so each level is scanned from its delivered offset and stops at the first
//! message not yet due. Delivered offsets live in the shared offset table
//! under group [`DELAY_GROUP`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rokka_store::{EntryKind, GetStatus};
use tracing::warn;

use super::context::{now_ms, Ctx};
use crate::broker::delay::{LEVELS, SCHEDULE_TOPIC};
use crate::broker::put::{put_message, restore_parked};

/// The offset-table group holding each level's delivered offset.
pub(crate) const DELAY_GROUP: &str = crate::broker::DELAY_PROGRESS_GROUP;

/// Delivers due messages every 100 ms until shutdown.
pub(crate) async fn run(ctx: Arc<Ctx>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = ctx.broker.shutdown_signal() => break,
            _ = tick.tick() => {
                for level in 1..=LEVELS.len() as u32 {
                    deliver_level(&ctx, level).await;
                }
            }
        }
    }
}

async fn deliver_level(ctx: &Ctx, level: u32) {
    let store = &ctx.broker.store;
    let q = level - 1;
    if store.consume_queue(SCHEDULE_TOPIC, q).is_none() {
        return;
    }
    let delay_ms = LEVELS[(level - 1) as usize] as i64 * 1000;
    let mut offset = store
        .offsets()
        .fetch(DELAY_GROUP, SCHEDULE_TOPIC, q)
        .map_or(0, |c| c.offset.max(0) as u64);
    loop {
        let r = store.get_messages(SCHEDULE_TOPIC, q, offset, 32, 1 << 20, None);
        if r.status == GetStatus::OffsetTooSmall {
            offset = r.next_offset;
            continue;
        }
        if r.status != GetStatus::Found {
            break;
        }
        for e in &r.entries {
            if e.kind != EntryKind::RocketMq {
                offset = e.queue_offset + e.count as u64;
                continue;
            }
            if e.store_timestamp + delay_ms > now_ms() {
                commit(ctx, q, offset);
                return;
            }
            if let Err(err) = redeliver(ctx, &e.bytes).await {
                warn!("cannot deliver a delayed message, retrying later: {err}");
                commit(ctx, q, offset);
                return;
            }
            offset = e.queue_offset + e.count as u64;
        }
        commit(ctx, q, offset);
    }
}

fn commit(ctx: &Ctx, q: u32, offset: u64) {
    ctx.broker
        .store
        .offsets()
        .commit(DELAY_GROUP, SCHEDULE_TOPIC, q, offset as i64, "");
}

async fn redeliver(ctx: &Ctx, bytes: &Bytes) -> Result<(), String> {
    // Nothing to deliver to (no REAL_TOPIC): dropped rather than stall the level.
    let Some(m) = restore_parked(&ctx.broker, bytes)? else {
        return Ok(());
    };
    put_message(&ctx.broker, m)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
