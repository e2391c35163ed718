//! Offset operations of mqadmin and the Dashboard:
//! INVOKE_BROKER_TO_RESET_OFFSET (222), CLONE_GROUP_OFFSET (314) and
//! QUERY_CONSUME_TIME_SPAN (303).
//!
//! A reset is done on the broker (as 5.x with `useServerSideResetOffset`):
//! the new offsets go into the one committed-offset table, so Kafka
//! consumers of the group see them too and an offline group can be reset;
//! then every live RocketMQ consumer of the group is sent
//! RESET_CONSUMER_CLIENT_OFFSET (220, oneway, as upstream's `Broker2Client`)
//! so it drops its in-memory offsets instead of committing them over the
//! reset. While the group has live Kafka members the reset is refused
//! (ADR 006; Kafka's own tool also wants the group empty).
//!
//! ResetOffsetBody uses fastjson's `MessageQueue`-object map keys
//! (`{"offsetTable":{{"brokerName":..,"queueId":0,"topic":..}:5}}`), the
//! only form Java clients parse.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rokka_protocols::remoting::body::MessageQueue;
use rokka_protocols::remoting::codes::FLAG_ONEWAY;
use rokka_protocols::remoting::{ExtFields, RemotingCommand, RequestCode, ResponseCode};

use super::context::{now_ms, Ctx, HResult, HandlerError, Reply};
use super::header::{opt, req, req_str};
use super::offsets::commit_allowed;
use super::reply::{ok, ok_json};
use super::stats::{existing_topic, mq_key, raw_body};

fn reset_body(ctx: &Ctx, topic: &str, table: &BTreeMap<u32, i64>) -> String {
    let mut out = String::from("{\"offsetTable\":{");
    for (i, (q, o)) in table.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}:{o}", mq_key(ctx, topic, *q));
    }
    out.push_str("}}");
    out
}

/// Whether `group` is known: a subscription group record, committed
/// offsets, or live consumers.
fn group_known(ctx: &Ctx, group: &str) -> bool {
    ctx.broker.store.subscription_groups().get(group).is_some()
        || !ctx.broker.store.offsets().group_offsets(group).is_empty()
        || ctx.broker.groups.owner(group).is_some()
        || !ctx.clients.consumer_channels(group).is_empty()
}

/// INVOKE_BROKER_TO_RESET_OFFSET (222): `timestamp` ms (-1: the end of each
/// queue), `isForce` (false: only rewinds), 5.x `queueId` + `offset` for one
/// queue at an exact offset.
pub(crate) fn reset_offset(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let topic = req_str(cmd, "topic")?;
    let group = req_str(cmd, "group")?;
    let timestamp: i64 = req(cmd, "timestamp")?;
    let force = opt::<bool>(cmd, "isForce")?.unwrap_or(true);
    let only_queue = opt::<i64>(cmd, "queueId")?.filter(|q| *q >= 0);
    let exact = opt::<i64>(cmd, "offset")?.filter(|o| *o != -1);
    let t = ctx.broker.topic(topic).ok_or_else(|| {
        HandlerError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("[reset-offset] reset offset failed, no topic in this broker. topic={topic}"),
        )
    })?;
    if !group_known(ctx, group) {
        return Err(HandlerError::new(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("Group {group} does not exist"),
        ));
    }
    commit_allowed(ctx, group, "INVOKE_BROKER_TO_RESET_OFFSET")
        .map_err(|r| HandlerError::new(ResponseCode::SYSTEM_ERROR, r.to_string()))?;
    let store = &ctx.broker.store;
    let queues: Vec<u32> = match only_queue {
        Some(q) => vec![u32::try_from(q).unwrap_or(u32::MAX)],
        None => (0..t.read_queue_nums.max(t.write_queue_nums)).collect(),
    };
    let mut table = BTreeMap::new();
    for q in queues {
        if q >= t.read_queue_nums.max(t.write_queue_nums) {
            return Err(HandlerError::new(
                ResponseCode::SYSTEM_ERROR,
                format!("queueId[{q}] is illegal, topic {topic} has fewer queues"),
            ));
        }
        let (min, max) = (store.min_offset(topic, q), store.max_offset(topic, q));
        let target = match exact {
            Some(o) if only_queue.is_some() => {
                if o < min as i64 || o > max as i64 {
                    return Err(HandlerError::new(
                        ResponseCode::SYSTEM_ERROR,
                        format!("Target offset {o} not in consume queue range [{min}-{max}]"),
                    ));
                }
                o
            }
            _ if timestamp < 0 => max as i64,
            _ => store.offset_for_timestamp(topic, q, timestamp) as i64,
        };
        let committed = store.offsets().fetch(group, topic, q).map(|c| c.offset);
        let new = match committed {
            Some(c) if !force && target >= c => c,
            _ => target,
        };
        table.insert(q, new);
    }
    for (q, o) in &table {
        store.offsets().commit(group, topic, *q, *o, "");
    }
    let body = reset_body(ctx, topic, &table);
    tracing::info!(
        group,
        topic,
        timestamp,
        queues = table.len(),
        "offsets reset"
    );
    notify_consumers(ctx, topic, group, timestamp, &body);
    Ok(raw_body(cmd, body))
}

/// RESET_CONSUMER_CLIENT_OFFSET (220) to each live consumer of `group`.
fn notify_consumers(ctx: &Ctx, topic: &str, group: &str, timestamp: i64, body: &str) {
    for (client, tx) in ctx.clients.consumer_channels(group) {
        let mut ext = ExtFields::default();
        ext.insert("topic", topic);
        ext.insert("group", group);
        ext.insert("timestamp", timestamp.to_string());
        ext.insert("isForce", "true");
        let mut cmd = RemotingCommand::request(RequestCode::RESET_CONSUMER_CLIENT_OFFSET.0, ext);
        cmd.flag = FLAG_ONEWAY;
        cmd.opaque = ctx.next_conn_id() as i32;
        cmd.body = body.to_owned().into();
        if tx.try_send(Reply::new(cmd)).is_err() {
            tracing::warn!(
                group,
                client,
                "could not queue RESET_CONSUMER_CLIENT_OFFSET"
            );
        }
    }
}

/// CLONE_GROUP_OFFSET (314): copies `srcGroup`'s offsets of `topic` (or of
/// every topic it has offsets for) to `destGroup`.
pub(crate) fn clone_group_offset(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let src = req_str(cmd, "srcGroup")?;
    let dest = req_str(cmd, "destGroup")?;
    let topic = cmd.ext("topic").filter(|t| !t.trim().is_empty());
    commit_allowed(ctx, dest, "CLONE_GROUP_OFFSET")
        .map_err(|r| HandlerError::new(ResponseCode::SYSTEM_ERROR, r.to_string()))?;
    let offsets = ctx.broker.store.offsets();
    for (t, q, c) in offsets.group_offsets(src) {
        if topic.is_some_and(|only| only != t) || ctx.broker.topic(&t).is_none() {
            continue;
        }
        offsets.commit(dest, &t, q, c.offset, &c.metadata);
    }
    Ok(ok(cmd, &[]))
}

/// QUERY_CONSUME_TIME_SPAN (303): per queue, the store times of the first
/// and last message and of the group's next message, and how long ago that
/// one was stored (`delayTime`).
pub(crate) fn consume_time_span(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let topic = req_str(cmd, "topic")?;
    let group = req_str(cmd, "group")?;
    let t = existing_topic(ctx, topic)?;
    let store = &ctx.broker.store;
    let now = now_ms();
    let mut spans = Vec::new();
    for q in 0..t.write_queue_nums {
        let (min, max) = (store.min_offset(topic, q), store.max_offset(topic, q));
        let min_time = store.store_time_at(topic, q, min).unwrap_or(0);
        let max_time = max
            .checked_sub(1)
            .and_then(|o| store.store_time_at(topic, q, o))
            .unwrap_or(0);
        let consumer = store
            .offsets()
            .fetch(group, topic, q)
            .map_or(0, |c| c.offset.max(0) as u64);
        let consume_time = consumer
            .checked_sub(1)
            .and_then(|o| store.store_time_at(topic, q, o))
            .unwrap_or(min_time);
        let delay = if consumer < max {
            store
                .store_time_at(topic, q, consumer.max(min))
                .map_or(0, |t| now - t)
        } else {
            0
        };
        spans.push(serde_json::json!({
            "messageQueue": MessageQueue {
                broker_name: ctx.broker.config.broker_name.clone(),
                queue_id: q as i32,
                topic: topic.to_owned(),
            },
            "minTimeStamp": min_time,
            "maxTimeStamp": max_time,
            "consumeTimeStamp": consume_time,
            "delayTime": delay,
        }));
    }
    ok_json(cmd, &serde_json::json!({ "consumeTimeSpanSet": spans }))
}
