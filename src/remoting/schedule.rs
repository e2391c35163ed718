//! Delay levels (rocketmq-remoting §10.2): a message with `DELAY` = n > 0 is
//! parked in `SCHEDULE_TOPIC_XXXX` queue n − 1 with `REAL_TOPIC`/`REAL_QID`,
//! and a background task re-appends it to its real topic and queue once
//! `store time + level delay` has passed. Queues are in due order per level,
//! so each level is scanned from its delivered offset and stops at the first
//! message not yet due. Delivered offsets live in the shared offset table
//! under group [`DELAY_GROUP`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rokka_protocols::remoting::message::{decode_message, decode_properties, encode_properties};
use rokka_store::topics::TopicConfig;
use rokka_store::{AppendPayload, AppendRequest, EntryKind, GetStatus, MessageToStore};
use tracing::warn;

use super::context::{now_ms, Ctx, HandlerError};
use rokka_protocols::remoting::ResponseCode;

/// The topic delayed messages wait in.
pub(crate) const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// The offset-table group holding each level's delivered offset.
pub(crate) const DELAY_GROUP: &str = crate::broker::DELAY_PROGRESS_GROUP;
/// The 18 standard delay levels, in seconds.
pub(crate) const LEVELS: [u64; 18] = [
    1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200,
];

/// The delay level in `props`, clamped to 1..=18; `None` when absent or ≤ 0.
pub(crate) fn delay_level(props: &str) -> Option<u32> {
    decode_properties(props)
        .into_iter()
        .rev()
        .find(|(k, _)| *k == "DELAY")
        .and_then(|(_, v)| v.parse::<i64>().ok())
        .filter(|l| *l > 0)
        .map(|l| l.min(LEVELS.len() as i64) as u32)
}

/// Rewrites a message for the schedule topic: returns the (topic, queue id,
/// properties) to store it under.
pub(crate) fn park(
    ctx: &Ctx,
    level: u32,
    topic: &str,
    queue_id: u32,
    props: &str,
) -> Result<(String, u32, String), HandlerError> {
    ctx.broker
        .store
        .topics()
        .get_or_create(TopicConfig::new(SCHEDULE_TOPIC, LEVELS.len() as u32))
        .map_err(|e| super::context::map_store_error(&e))?;
    let qid = queue_id.to_string();
    let level_s = level.to_string();
    let mut pairs: Vec<(&str, &str)> = decode_properties(props)
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "REAL_TOPIC" | "REAL_QID" | "DELAY"))
        .collect();
    pairs.push(("DELAY", &level_s));
    pairs.push(("REAL_TOPIC", topic));
    pairs.push(("REAL_QID", &qid));
    let s = encode_properties(pairs);
    if s.len() > i16::MAX as usize {
        return Err(HandlerError::new(
            ResponseCode::MESSAGE_ILLEGAL,
            "properties too long",
        ));
    }
    Ok((SCHEDULE_TOPIC.to_owned(), level - 1, s))
}

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
    let (m, _) = decode_message(bytes).map_err(|e| e.to_string())?;
    let props = decode_properties(&m.properties);
    let real_topic = props
        .iter()
        .rev()
        .find(|(k, _)| *k == "REAL_TOPIC")
        .map(|(_, v)| (*v).to_owned());
    let real_qid = props
        .iter()
        .rev()
        .find(|(k, _)| *k == "REAL_QID")
        .and_then(|(_, v)| v.parse::<u32>().ok());
    let (Some(topic), Some(qid)) = (real_topic, real_qid) else {
        // Nothing to deliver to: drop it rather than stall the level.
        return Ok(());
    };
    let t = ctx
        .broker
        .topic(&topic)
        .or_else(|| {
            ctx.broker
                .store
                .topics()
                .get_or_create(TopicConfig::new(&topic, 1))
                .ok()
        })
        .ok_or("real topic missing")?;
    let qid = qid.min(t.write_queue_nums.max(1) - 1);
    let mut kept: Vec<(&str, &str)> = props
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "REAL_TOPIC" | "REAL_QID" | "DELAY" | "WAIT"))
        .collect();
    kept.push(("WAIT", "true"));
    let msg = MessageToStore {
        flag: m.flag,
        body: m.body.clone(),
        sys_flag: m.sys_flag & !0x30,
        born_timestamp: m.born_timestamp,
        born_host: m.born_host,
        reconsume_times: m.reconsume_times,
        prepared_tx_offset: 0,
        properties: encode_properties(kept).into(),
    };
    ctx.broker
        .store
        .append(AppendRequest {
            topic: Bytes::copy_from_slice(topic.as_bytes()),
            queue_id: qid,
            payload: AppendPayload::Message(msg),
        })
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
