//! Reviving expired POP messages: a copy goes to the group's POP retry
//! topic (reconsume times + 1) or, once the message had `retryMaxTimes`
//! deliveries, to `%DLQ%<group>`; then the engine journals that the
//! delivery is done. A crash between the two stores the copy and keeps
//! the original in flight, so it is revived once more after the restart:
//! at-least-once, as upstream's revive (ADR 020).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rokka_protocols::remoting::message::{decode_message, decode_properties, encode_properties};
use rokka_store::topics::TopicConfig;
use rokka_store::{AppendPayload, AppendRequest, MessageToStore, Store};

use super::state::Expired;
use super::{read, retry_topic, PopEngine, DEFAULT_MAX_ATTEMPTS};
use crate::format::cache::ConvertedBatches;

/// How often expired messages are looked for.
pub const REVIVE_INTERVAL: Duration = Duration::from_millis(200);

/// The group's delivery attempts before the DLQ (`retryMaxTimes`).
pub fn max_attempts(store: &Store, group: &str) -> u32 {
    store
        .subscription_groups()
        .get(group)
        .map_or(DEFAULT_MAX_ATTEMPTS, |g| g.retry_max_times.max(0) as u32)
}

/// Where an expired message goes.
pub fn target(e: &Expired, max: u32) -> String {
    if e.inflight.attempts >= max {
        format!("%DLQ%{}", e.q.group)
    } else if e.q.topic.starts_with("%RETRY%") {
        e.q.topic.clone()
    } else {
        retry_topic(&e.q.group, &e.q.topic)
    }
}

/// The copy of `stored` for `target`: reconsume times + 1, RETRY_TOPIC
/// and ORIGIN_MESSAGE_ID set (kept when already there).
fn copy(stored: &Bytes, e: &Expired) -> Option<MessageToStore> {
    moved_copy(stored, e.inflight.attempts as i32 + 1)
}

/// A copy of `stored` to move to a retry topic or DLQ with
/// `reconsume_times`: RETRY_TOPIC and ORIGIN_MESSAGE_ID set (kept when
/// already there), POP_CK and DELAY dropped.
pub fn moved_copy(stored: &Bytes, reconsume_times: i32) -> Option<MessageToStore> {
    let (m, _) = decode_message(stored).ok()?;
    let origin = m.offset_msg_id();
    let mut pairs: Vec<(&str, &str)> = decode_properties(&m.properties)
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "POP_CK" | "DELAY"))
        .collect();
    if !pairs.iter().any(|(k, _)| *k == "RETRY_TOPIC") {
        pairs.push(("RETRY_TOPIC", m.topic.as_str()));
    }
    if !pairs.iter().any(|(k, _)| *k == "ORIGIN_MESSAGE_ID") {
        pairs.push(("ORIGIN_MESSAGE_ID", origin.as_str()));
    }
    Some(MessageToStore {
        flag: m.flag,
        body: m.body.clone(),
        sys_flag: m.sys_flag & !0x30,
        born_timestamp: m.born_timestamp,
        born_host: m.born_host,
        reconsume_times,
        prepared_tx_offset: 0,
        properties: encode_properties(pairs).into(),
    })
}

/// Moves every message expired at `now` on; returns how many. A read-only
/// store (a cluster slave, or a demoted master) revives nothing: POP is the
/// master's (ADR 020), and its appends would only fail, once a second per
/// expired message; what this engine holds revives if it is master again.
pub async fn revive_once(
    engine: &PopEngine,
    store: &Store,
    converted: &ConvertedBatches,
    now: i64,
) -> usize {
    if store.is_read_only() {
        return 0;
    }
    let expired = engine.expired(now, &|g| max_attempts(store, g));
    let mut done = 0;
    for e in expired {
        if !engine.still_inflight(&e) {
            continue;
        }
        let max = max_attempts(store, &e.q.group);
        let to = target(&e, max);
        // A message the store no longer holds (retention) is just dropped.
        let stored = read::one(store, converted, &e.q.topic, e.q.queue, e.offset);
        if let Some(msg) = stored.as_ref().and_then(|b| copy(b, &e)) {
            if let Err(err) = store.topics().get_or_create(TopicConfig::new(&to, 1)) {
                tracing::warn!(topic = to, %err, "POP revive: cannot create the topic");
                continue;
            }
            let req = AppendRequest {
                topic: Bytes::copy_from_slice(to.as_bytes()),
                queue_id: 0,
                payload: AppendPayload::Message(msg),
            };
            if let Err(err) = store.append(req).await {
                tracing::warn!(topic = to, %err, "POP revive: append failed, retried later");
                continue;
            }
        }
        if let Err(err) = engine.revived(&e) {
            tracing::warn!(%err, "POP revive: journal write failed");
            continue;
        }
        done += 1;
    }
    done
}

/// The reviver of a broker: runs until `broker` shuts down, syncing the
/// journal every round.
pub async fn run(broker: crate::Core, engine: Arc<PopEngine>) {
    let mut tick = tokio::time::interval(REVIVE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = broker.shutdown_signal() => break,
        }
        let now = now_ms();
        revive_once(&engine, &broker.store, &broker.converted, now).await;
        if let Err(err) = engine.sync() {
            tracing::warn!(%err, "POP journal: fsync failed");
        }
    }
    let _ = engine.sync();
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
