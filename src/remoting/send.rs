//! SEND_MESSAGE (10, long header names), SEND_MESSAGE_V2 (310, one-letter
//! names) and SEND_BATCH_MESSAGE (320): validate the topic, auto-create it
//! from TBW102, redirect exhausted retries to the DLQ, store, and answer with
//! `msgId` (offset id), `queueId`, `queueOffset`, `MSG_REGION`, `TRACE_ON`.
//!
//! Stored properties: the producer's, minus `WAIT` (single sends), plus
//! `CLUSTER`; batch records keep their inner properties plus `CLUSTER`
//! (never the batch-level `UNIQ_KEY`, §5.3).

use bytes::Bytes;
use rokka_protocols::remoting::message::{
    create_message_id, decode_batch, decode_properties, encode_properties,
};
use rokka_protocols::remoting::{ExtFields, RemotingCommand, RequestCode, ResponseCode};
use rokka_store::topics::TopicConfig;
use rokka_store::{AppendPayload, AppendRequest, AppendResult, MessageToStore};

use crate::broker::put::{put_message, Put, PutError, PutMessage};
use crate::metrics::topic_traffic::{self, Protocol};

use super::conn::ConnInfo;
use super::context::{map_store_error, Ctx, HResult, HandlerError, Reply};
use super::header::{opt, req, req_str};
use super::namesrv::TBW102;
use super::transaction::{half, TX_MASK, TX_PREPARED};

const SYSTEM_TOPICS: [&str; 8] = [
    // Kafka's offsets topic, written by the broker only (ADR 011).
    rokka_protocols::kafka::offsets_topic::OFFSETS_TOPIC,
    "SCHEDULE_TOPIC_XXXX",
    crate::broker::timer::TIMER_TOPIC,
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];
const DEFAULT_MAX_RECONSUME: i32 = 16;

/// The send header, from either name set.
#[derive(Debug)]
pub(crate) struct SendHeader {
    pub(crate) producer_group: String,
    pub(crate) topic: String,
    pub(crate) default_topic: String,
    pub(crate) default_topic_queue_nums: u32,
    pub(crate) queue_id: i32,
    pub(crate) sys_flag: i32,
    pub(crate) born_timestamp: i64,
    pub(crate) flag: i32,
    pub(crate) properties: String,
    pub(crate) reconsume_times: i32,
    pub(crate) max_reconsume_times: Option<i32>,
}

impl SendHeader {
    fn parse(cmd: &RemotingCommand) -> Result<SendHeader, HandlerError> {
        let n = if cmd.code == RequestCode::SEND_MESSAGE.0 {
            [
                "producerGroup",
                "topic",
                "defaultTopic",
                "defaultTopicQueueNums",
                "queueId",
                "sysFlag",
                "bornTimestamp",
                "flag",
                "properties",
                "reconsumeTimes",
                "maxReconsumeTimes",
            ]
        } else {
            ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "l"]
        };
        Ok(SendHeader {
            producer_group: req_str(cmd, n[0])?.to_owned(),
            topic: req_str(cmd, n[1])?.to_owned(),
            default_topic: cmd.ext(n[2]).unwrap_or(TBW102).to_owned(),
            default_topic_queue_nums: opt(cmd, n[3])?.unwrap_or(4),
            queue_id: req(cmd, n[4])?,
            sys_flag: opt(cmd, n[5])?.unwrap_or(0),
            born_timestamp: opt(cmd, n[6])?.unwrap_or(0),
            flag: opt(cmd, n[7])?.unwrap_or(0),
            properties: cmd.ext(n[8]).unwrap_or("").to_owned(),
            reconsume_times: opt(cmd, n[9])?.unwrap_or(0),
            max_reconsume_times: opt(cmd, n[10])?,
        })
    }
}

fn illegal(remark: impl Into<String>) -> HandlerError {
    HandlerError::new(ResponseCode::MESSAGE_ILLEGAL, remark)
}

/// `TopicValidator`: `[A-Za-z0-9%|_-]`, ≤ 127 chars (retry/DLQ ≤ 255).
pub(crate) fn validate_topic(topic: &str) -> Result<(), HandlerError> {
    let max = if topic.starts_with("%RETRY%") || topic.starts_with("%DLQ%") {
        255
    } else {
        127
    };
    if topic.is_empty() || topic.len() > max {
        return Err(illegal(format!("the topic[{topic}] length is invalid")));
    }
    if !topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"%|_-".contains(&b))
    {
        return Err(illegal(format!(
            "the specified topic[{topic}] contains illegal characters"
        )));
    }
    if SYSTEM_TOPICS.contains(&topic) {
        return Err(HandlerError::new(
            ResponseCode::NO_PERMISSION,
            format!("Cannot send message to system topic {topic}"),
        ));
    }
    Ok(())
}

/// The topic, auto-created per §5.4 step 3 when missing.
pub(crate) fn resolve_topic(
    ctx: &Ctx,
    topic: &str,
    default_topic: &str,
    queues: u32,
) -> Result<TopicConfig, HandlerError> {
    // WIPE_WRITE_PERM_OF_BROKER / brokerPermission: writes refused as upstream.
    if ctx.broker.dynamic.broker_permission() & crate::broker::dynamic_config::PERM_WRITE == 0 {
        return Err(HandlerError::new(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                ctx.advertised.ip()
            ),
        ));
    }
    // A drained range of a topic placed over broker groups (ADR 024).
    if ctx
        .broker
        .cluster
        .as_ref()
        .is_some_and(|c| c.drained_here(topic))
    {
        return Err(HandlerError::new(
            ResponseCode::NO_PERMISSION,
            format!(
                "the topic[{topic}] is drained on broker {}: no more sends",
                ctx.broker.config.broker_name
            ),
        ));
    }
    if let Some(t) = ctx.broker.topic(topic) {
        return Ok(t);
    }
    if topic.starts_with("%RETRY%") || topic.starts_with("%DLQ%") {
        return ctx
            .broker
            .store
            .topics()
            .get_or_create(TopicConfig::new(topic, 1))
            .map_err(|e| map_store_error(&e));
    }
    let missing = || {
        HandlerError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist, apply first please!"),
        )
    };
    if default_topic != TBW102 {
        return Err(missing());
    }
    ctx.broker
        .topic_or_auto_create(topic, Some(queues.clamp(1, 8)))
        .map_err(|e| map_store_error(&e))?
        .ok_or_else(missing)
}

fn pick_queue(ctx: &Ctx, t: &TopicConfig, asked: i32) -> Result<u32, HandlerError> {
    let n = t.read_queue_nums.max(t.write_queue_nums);
    if asked < 0 {
        let w = t.write_queue_nums.max(1) as u64;
        return Ok((ctx.next_queue() % w) as u32);
    }
    if asked as u32 >= n {
        return Err(HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "request queueId[{asked}] is illegal, topic:{} topicConfig.writeQueueNums:{} consumerQueueNums:{}",
                t.topic_name, t.write_queue_nums, t.read_queue_nums
            ),
        ));
    }
    Ok(asked as u32)
}

/// Re-encodes producer properties for storage: drops `WAIT` (single sends
/// only) and adds `CLUSTER`.
fn stored_properties(ctx: &Ctx, props: &str, drop_wait: bool) -> Result<Bytes, HandlerError> {
    let cluster = ctx.broker.config.broker_cluster_name.as_str();
    let mut pairs: Vec<(&str, &str)> = decode_properties(props)
        .into_iter()
        .filter(|(k, _)| !(drop_wait && *k == "WAIT") && *k != "CLUSTER")
        .collect();
    pairs.push(("CLUSTER", cluster));
    let s = encode_properties(pairs);
    if s.len() > i16::MAX as usize {
        return Err(illegal(format!(
            "the message properties length is {} bytes, the maximum is 32767",
            s.len()
        )));
    }
    Ok(Bytes::from(s))
}

/// Appends and maps the outcome.
pub(crate) async fn append(
    ctx: &Ctx,
    topic: &str,
    queue_id: u32,
    payload: AppendPayload,
) -> Result<AppendResult, HandlerError> {
    ctx.broker
        .store
        .append(AppendRequest {
            topic: Bytes::copy_from_slice(topic.as_bytes()),
            queue_id,
            payload,
        })
        .await
        .map_err(|e| map_store_error(&e))
}

/// The remoting answer to a refused put (upstream `SendMessageProcessor`:
/// an illegal timer is MESSAGE_ILLEGAL, a disabled or throttled timer
/// SYSTEM_ERROR).
pub(crate) fn map_put_error(e: &PutError) -> HandlerError {
    let code = match e {
        PutError::Store(s) => return map_store_error(s),
        PutError::Illegal(_) | PutError::TimerIllegal(_) => ResponseCode::MESSAGE_ILLEGAL,
        PutError::TimerNotEnabled | PutError::TimerFlowControl(_) => ResponseCode::SYSTEM_ERROR,
    };
    HandlerError::new(code, e.to_string())
}

/// Puts through `broker::put` (delay levels and timers applied).
pub(crate) async fn put(
    ctx: &Ctx,
    topic: &str,
    queue_id: u32,
    payload: AppendPayload,
) -> Result<Put, HandlerError> {
    let m = PutMessage {
        topic: topic.to_owned(),
        queue_id,
        payload,
    };
    put_message(&ctx.broker, m)
        .await
        .map_err(|e| map_put_error(&e))
}

/// SYNC_MASTER in cluster mode: the code a stored message is answered with.
/// RocketMQ answers after the append: SLAVE_NOT_AVAILABLE when the in-sync
/// set is smaller than `inSyncReplicas`, FLUSH_SLAVE_TIMEOUT when the
/// replicas did not acknowledge in time (the producer sees a SendResult with
/// that status, not SEND_OK).
pub(crate) async fn replicated(ctx: &Ctx, r: &AppendResult) -> ResponseCode {
    let Some(c) = ctx.broker.cluster.as_ref().filter(|c| c.sync_master()) else {
        return ResponseCode::SUCCESS;
    };
    if !c.enough_in_sync() {
        return ResponseCode::SLAVE_NOT_AVAILABLE;
    }
    if c.wait_replicated(r.phy_offset + u64::from(r.bytes), None)
        .await
    {
        ResponseCode::SUCCESS
    } else {
        ResponseCode::FLUSH_SLAVE_TIMEOUT
    }
}

fn send_response(
    req: &RemotingCommand,
    msg_id: String,
    queue_id: u32,
    queue_offset: u64,
    code: ResponseCode,
) -> HResult {
    // Built in place (distinct keys): no clone or look-up per field.
    let mut cmd = req.response_to(code.0);
    cmd.ext_fields = Some(ExtFields(vec![
        ("msgId".to_owned(), msg_id),
        ("queueId".to_owned(), queue_id.to_string()),
        ("queueOffset".to_owned(), queue_offset.to_string()),
        ("MSG_REGION".to_owned(), "DefaultRegion".to_owned()),
        ("TRACE_ON".to_owned(), "true".to_owned()),
    ]));
    Ok(Reply::new(cmd))
}

/// SEND_MESSAGE (10) and SEND_MESSAGE_V2 (310).
pub(crate) async fn send_message(ctx: &Ctx, conn: &ConnInfo, req: &RemotingCommand) -> HResult {
    let h = SendHeader::parse(req)?;
    validate_topic(&h.topic)?;
    let mut topic = h.topic.clone();
    // An exhausted retry goes to the group's DLQ (§5.4 step 5).
    if let Some(group) = topic.strip_prefix("%RETRY%") {
        let max = h.max_reconsume_times.unwrap_or(DEFAULT_MAX_RECONSUME);
        if h.reconsume_times >= max {
            topic = format!("%DLQ%{group}");
        }
    }
    let t = resolve_topic(ctx, &topic, &h.default_topic, h.default_topic_queue_nums)?;
    let queue_id = if topic == h.topic {
        pick_queue(ctx, &t, h.queue_id)?
    } else {
        0
    };
    let mut props = stored_properties(ctx, &h.properties, true)?;
    let (mut store_topic, mut store_qid) = (topic.clone(), queue_id);
    let mut sys_flag = h.sys_flag;
    // A half message waits for END_TRANSACTION; delay levels and timers are
    // applied by broker::put (never for the DLQ).
    if h.sys_flag & TX_MASK == TX_PREPARED {
        let text = String::from_utf8_lossy(&props).into_owned();
        let (t, q, p) = half(ctx, &topic, queue_id, &text)?;
        (store_topic, store_qid, props) = (t, q, Bytes::from(p));
        sys_flag &= !TX_MASK;
    }
    let msg = MessageToStore {
        flag: h.flag,
        body: req.body.clone(),
        sys_flag,
        born_timestamp: h.born_timestamp,
        born_host: conn.peer,
        reconsume_times: h.reconsume_times,
        prepared_tx_offset: 0,
        properties: props,
    };
    let p = put(ctx, &store_topic, store_qid, AppendPayload::Message(msg)).await?;
    let r = p.result;
    topic_traffic::produced(Protocol::Remoting, &p.topic, p.queue_id, &r);
    let id = create_message_id(ctx.advertised, r.phy_offset as i64);
    let _ = &h.producer_group;
    let code = replicated(ctx, &r).await;
    send_response(req, id, queue_id, r.queue_offset, code)
}

/// SEND_BATCH_MESSAGE (320).
pub(crate) async fn send_batch(ctx: &Ctx, conn: &ConnInfo, req: &RemotingCommand) -> HResult {
    let h = SendHeader::parse(req)?;
    validate_topic(&h.topic)?;
    if h.topic.starts_with("%RETRY%") {
        return Err(illegal("batch request does not support retry group"));
    }
    let inner = decode_batch(&req.body).map_err(|e| illegal(format!("bad batch body: {e}")))?;
    if inner.is_empty() {
        return Err(illegal("empty batch"));
    }
    let t = resolve_topic(ctx, &h.topic, &h.default_topic, h.default_topic_queue_nums)?;
    let queue_id = pick_queue(ctx, &t, h.queue_id)?;
    let mut msgs = Vec::with_capacity(inner.len().min(1024));
    for m in inner {
        msgs.push(MessageToStore {
            flag: m.flag,
            body: m.body,
            sys_flag: h.sys_flag,
            born_timestamp: h.born_timestamp,
            born_host: conn.peer,
            reconsume_times: 0,
            prepared_tx_offset: 0,
            properties: stored_properties(ctx, &m.properties, false)?,
        });
    }
    let r = put(ctx, &h.topic, queue_id, AppendPayload::Messages(msgs))
        .await?
        .result;
    topic_traffic::produced(Protocol::Remoting, &h.topic, queue_id, &r);
    // Each record's own physical offset, from the ConsumeQueue.
    let cq = ctx.broker.store.consume_queue(&h.topic, queue_id);
    let ids: Vec<String> = (0..r.count as u64)
        .map(|i| {
            let phy = cq
                .as_ref()
                .and_then(|q| q.get(r.queue_offset + i))
                .map_or(r.phy_offset, |e| e.phy_offset);
            create_message_id(ctx.advertised, phy as i64)
        })
        .collect();
    let code = replicated(ctx, &r).await;
    send_response(req, ids.join(","), queue_id, r.queue_offset, code)
}
