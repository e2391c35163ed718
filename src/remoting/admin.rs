//! Topic admin (UPDATE_AND_CREATE_TOPIC, GET_ALL_TOPIC_CONFIG), queue locks
//! for orderly consumers (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ, 60 s expiry) and
//! CONSUMER_SEND_MSG_BACK (copy to `%RETRY%<group>`, or `%DLQ%<group>` once
//! the reconsume count reaches the maximum).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rokka_protocols::remoting::body::{
    LockBatchRequestBody, LockBatchResponseBody, MessageQueue, TopicConfigBody,
};
use rokka_protocols::remoting::message::{decode_message, decode_properties, encode_properties};
use rokka_protocols::remoting::{RemotingCommand, ResponseCode};
use rokka_store::topics::TopicConfig;
use rokka_store::{AppendPayload, MessageToStore};

use crate::broker::delay::LEVELS;
use crate::broker::topics::partition_count;

use super::clients::retry_topic;
use super::conn::ConnInfo;
use super::context::{map_store_error, Ctx, HResult, HandlerError};
use super::header::{opt, req, req_str};
use super::reply::{ok, ok_json};
use super::send::{resolve_topic, validate_topic};

const LOCK_EXPIRY: Duration = Duration::from_secs(60);
const DEFAULT_MAX_RECONSUME: i32 = 16;

/// Queue locks: (group, queue) → (client id, last renewal).
#[derive(Debug, Default)]
pub(crate) struct Locks {
    table: Mutex<HashMap<(String, MessageQueue), (String, Instant)>>,
}

impl Locks {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(String, MessageQueue), (String, Instant)>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops expired locks.
    pub(crate) fn expire(&self) {
        self.lock().retain(|_, (_, t)| t.elapsed() < LOCK_EXPIRY);
    }
}

fn bad_body(e: serde_json::Error) -> HandlerError {
    HandlerError::new(ResponseCode::SYSTEM_ERROR, format!("bad request body: {e}"))
}

/// LOCK_BATCH_MQ: grants each free, expired or already-owned queue.
pub(crate) fn lock_batch(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let b: LockBatchRequestBody = serde_json::from_slice(&cmd.body).map_err(bad_body)?;
    let mut table = ctx.locks.lock();
    let mut granted = Vec::new();
    for mq in b.mq_set {
        let key = (b.consumer_group.clone(), mq.clone());
        let free = table
            .get(&key)
            .is_none_or(|(owner, t)| *owner == b.client_id || t.elapsed() >= LOCK_EXPIRY);
        if free {
            table.insert(key, (b.client_id.clone(), Instant::now()));
            granted.push(mq);
        }
    }
    drop(table);
    ok_json(
        cmd,
        &LockBatchResponseBody {
            lock_ok_m_q_set: granted,
        },
    )
}

/// UNLOCK_BATCH_MQ: releases the requester's locks.
pub(crate) fn unlock_batch(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let b: LockBatchRequestBody = serde_json::from_slice(&cmd.body).map_err(bad_body)?;
    let mut table = ctx.locks.lock();
    for mq in b.mq_set {
        let key = (b.consumer_group.clone(), mq);
        if table.get(&key).is_some_and(|(o, _)| *o == b.client_id) {
            table.remove(&key);
        }
    }
    Ok(ok(cmd, &[]))
}

/// UPDATE_AND_CREATE_TOPIC (17).
pub(crate) fn update_and_create_topic(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let topic = req_str(cmd, "topic")?;
    validate_topic(topic)?;
    let read: u32 =
        opt(cmd, "readQueueNums")?.unwrap_or(ctx.broker.config.default_topic_queue_nums);
    let write: u32 = opt(cmd, "writeQueueNums")?.unwrap_or(read);
    let perm: u32 = opt(cmd, "perm")?.unwrap_or(6);
    if read == 0 || write == 0 || read > 1024 || write > 1024 {
        return Err(HandlerError::new(
            ResponseCode::INVALID_PARAMETER,
            "queue numbers must be within 1..=1024",
        ));
    }
    let mut t = ctx
        .broker
        .topic(topic)
        .unwrap_or_else(|| TopicConfig::new(topic, read));
    // Kafka clients cannot follow a partition count that decreases: the
    // queues may be drained (writeQueueNums lowered) but not hidden.
    let had = partition_count(&t);
    if read.max(write) < had {
        return Err(HandlerError::new(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "topic {topic} has {had} queues (Kafka partitions); rokka does not shrink a \
                 topic: keep readQueueNums or writeQueueNums at {had} or more"
            ),
        ));
    }
    t.read_queue_nums = read;
    t.write_queue_nums = write;
    t.perm = perm;
    t.order = opt(cmd, "order")?.unwrap_or(t.order);
    ctx.broker
        .store
        .topics()
        .put(t)
        .map_err(|e| map_store_error(&e))?;
    Ok(ok(cmd, &[]))
}

/// The broker's topic table as GET_ALL_TOPIC_CONFIG and REGISTER_BROKER carry it.
pub(crate) fn topic_config_bodies(ctx: &Ctx) -> Vec<TopicConfigBody> {
    ctx.broker
        .store
        .topics()
        .list()
        .into_iter()
        .map(topic_body)
        .collect()
}

/// One topic as RocketMQ admin requests see it. Its attributes include the
/// Kafka topic configs set on it (ADR 009); Kafka's `cleanup.policy` is shown
/// as RocketMQ 5's `DELETE` / `COMPACTION`.
fn topic_body(t: rokka_store::topics::TopicConfig) -> TopicConfigBody {
    let mut attributes = t.attributes;
    if let Some(p) = attributes.get_mut("cleanup.policy") {
        *p = if p.contains("compact") {
            "COMPACTION".to_owned()
        } else {
            "DELETE".to_owned()
        };
    }
    TopicConfigBody {
        order: t.order,
        perm: t.perm,
        read_queue_nums: t.read_queue_nums,
        topic_filter_type: "SINGLE_TAG".to_owned(),
        topic_name: t.topic_name,
        topic_sys_flag: t.topic_sys_flag,
        write_queue_nums: t.write_queue_nums,
        attributes,
    }
}

/// GET_ALL_TOPIC_CONFIG (21): `{"dataVersion":..,"topicConfigTable":{..}}`.
pub(crate) fn all_topic_config(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let table: BTreeMap<String, TopicConfigBody> = topic_config_bodies(ctx)
        .into_iter()
        .map(|t| (t.topic_name.clone(), t))
        .collect();
    ok_json(
        cmd,
        &serde_json::json!({
            "dataVersion": {"counter": 0, "timestamp": 0},
            "topicConfigTable": table,
        }),
    )
}

/// CONSUMER_SEND_MSG_BACK (36): the retry copy waits `delayLevel` (0 means
/// 3 + reconsume times, as upstream) in the schedule topic.
pub(crate) async fn send_back(ctx: &Ctx, _conn: &ConnInfo, cmd: &RemotingCommand) -> HResult {
    let offset: i64 = req(cmd, "offset")?;
    let group = req_str(cmd, "group")?;
    let delay_level: i32 = opt(cmd, "delayLevel")?.unwrap_or(0);
    // The client's own maximum wins, as upstream; else the group's retryMaxTimes.
    let max = match opt::<i32>(cmd, "maxReconsumeTimes")? {
        Some(m) => m,
        None => ctx
            .broker
            .store
            .subscription_groups()
            .get(group)
            .map_or(DEFAULT_MAX_RECONSUME, |g| g.retry_max_times),
    };
    // A RocketMQ entry, or the record of a Kafka batch its offset names.
    let stored = super::query::message_at(&ctx.broker.store, offset).ok_or_else(|| {
        HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("look message by offset failed, {offset}"),
        )
    })?;
    let (m, _) = decode_message(&stored)
        .map_err(|e| HandlerError::new(ResponseCode::SYSTEM_ERROR, e.to_string()))?;
    let target = if m.reconsume_times >= max || delay_level < 0 {
        format!("%DLQ%{group}")
    } else {
        retry_topic(group)
    };
    resolve_topic(ctx, &target, "", 1)?;
    let origin_id = cmd
        .ext("originMsgId")
        .map(str::to_owned)
        .unwrap_or_else(|| m.offset_msg_id());
    let mut pairs: Vec<(&str, &str)> = decode_properties(&m.properties)
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "DELAY" | "WAIT"))
        .collect();
    if !pairs.iter().any(|(k, _)| *k == "RETRY_TOPIC") {
        pairs.push(("RETRY_TOPIC", m.topic.as_str()));
    }
    if !pairs.iter().any(|(k, _)| *k == "ORIGIN_MESSAGE_ID") {
        pairs.push(("ORIGIN_MESSAGE_ID", origin_id.as_str()));
    }
    pairs.push(("WAIT", "false"));
    let level = if delay_level == 0 {
        3 + m.reconsume_times.max(0) as u32
    } else {
        delay_level.max(1) as u32
    }
    .min(LEVELS.len() as u32);
    // broker::put parks it at `level` (never for the DLQ).
    let level_s = level.to_string();
    pairs.push(("DELAY", &level_s));
    let msg = MessageToStore {
        flag: m.flag,
        body: m.body.clone(),
        sys_flag: m.sys_flag & !0x30,
        born_timestamp: m.born_timestamp,
        born_host: m.born_host,
        reconsume_times: m.reconsume_times + 1,
        prepared_tx_offset: 0,
        properties: encode_properties(pairs).into(),
    };
    super::send::put(ctx, &target, 0, AppendPayload::Message(msg)).await?;
    Ok(ok(cmd, &[]))
}

/// GET_TOPIC_CONFIG (351, 5.x mqadmin): the topic's config, or TOPIC_NOT_EXIST.
pub(crate) fn topic_config(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let topic = req_str(cmd, "topic")?;
    let t = ctx.broker.topic(topic).ok_or_else(|| {
        HandlerError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("No topic in this broker. topic: {topic}"),
        )
    })?;
    ok_json(cmd, &topic_body(t))
}

#[cfg(test)]
mod tests {
    use super::topic_body;
    use rokka_store::topics::TopicConfig;

    #[test]
    fn kafka_topic_configs_are_shown_as_rocketmq_attributes() {
        let mut t = TopicConfig::new("t", 2);
        t.attributes
            .insert("cleanup.policy".into(), "compact,delete".into());
        t.attributes.insert("retention.ms".into(), "1000".into());
        let b = topic_body(t);
        assert_eq!(b.attributes["cleanup.policy"], "COMPACTION");
        assert_eq!(b.attributes["retention.ms"], "1000");
        let json = serde_json::to_string(&b).unwrap();
        assert!(json.contains(r#""attributes":{"cleanup.policy":"COMPACTION""#));
        let plain = serde_json::to_string(&topic_body(TopicConfig::new("u", 1))).unwrap();
        assert!(!plain.contains("attributes"), "{plain}");
    }
}
