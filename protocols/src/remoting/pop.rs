//! RocketMQ 5.x POP: the request/response headers of POP_MESSAGE (200050),
//! ACK_MESSAGE (200051), CHANGE_MESSAGE_INVISIBLETIME (200053),
//! NOTIFICATION (200054), POLLING_INFO (200055); the JSON bodies of
//! BATCH_ACK_MESSAGE (200151), QUERY_ASSIGNMENT (400) and
//! SET_MESSAGE_REQUEST_MODE (401); and the text formats the client parses
//! and echoes back (upstream `ExtraInfoUtil`), parsed with nom.
//!
//! extraInfo (the `POP_CK` property, echoed in acks), fields separated by
//! one space: `ckQueueOffset popTime invisibleTime reviveQid retry
//! brokerName queueId [queueOffset]`, where `retry` is `0` (the topic),
//! `1` (`%RETRY%<group>_<topic>`) or `2` (`%RETRY%<group>+<topic>`).
//! The POP response's `startOffsetInfo` / `msgOffsetInfo` /
//! `orderCountInfo` are `;`-separated `retry queueId value` triples (value:
//! an offset, `,`-separated offsets, or a count; orderCountInfo's queue part
//! may be `qo<queueId>%<offset>`).

use nom::bytes::complete::{tag, take_till1, take_while1};
use nom::character::complete::{char, digit1};
use nom::combinator::{all_consuming, map_res, opt, recognize};
use nom::multi::separated_list1;
use nom::sequence::{pair, preceded};
use nom::{IResult, Parser};
use serde::{Deserialize, Serialize};

use super::error::DecodeError;
use super::header::ExtFields;

use super::codes::{RequestCode, ResponseCode};

/// The POP family's codes (upstream `RequestCode.java`), kept with their
/// headers.
impl RequestCode {
    /// QUERY_ASSIGNMENT: the broker assigns queues (POP or PULL mode).
    pub const QUERY_ASSIGNMENT: RequestCode = RequestCode(400);
    /// SET_MESSAGE_REQUEST_MODE (`mqadmin setConsumeMode`).
    pub const SET_MESSAGE_REQUEST_MODE: RequestCode = RequestCode(401);
    /// POP_MESSAGE.
    pub const POP_MESSAGE: RequestCode = RequestCode(200_050);
    /// ACK_MESSAGE.
    pub const ACK_MESSAGE: RequestCode = RequestCode(200_051);
    /// CHANGE_MESSAGE_INVISIBLETIME.
    pub const CHANGE_MESSAGE_INVISIBLETIME: RequestCode = RequestCode(200_053);
    /// NOTIFICATION.
    pub const NOTIFICATION: RequestCode = RequestCode(200_054);
    /// POLLING_INFO.
    pub const POLLING_INFO: RequestCode = RequestCode(200_055);
    /// BATCH_ACK_MESSAGE.
    pub const BATCH_ACK_MESSAGE: RequestCode = RequestCode(200_151);
}

/// POP answers (upstream `ResponseCode.java`).
impl ResponseCode {
    /// POLLING_FULL: too many parked pops.
    pub const POLLING_FULL: ResponseCode = ResponseCode(209);
    /// POLLING_TIMEOUT: nothing arrived within pollTime.
    pub const POLLING_TIMEOUT: ResponseCode = ResponseCode(210);
    /// NO_MESSAGE: the named message is not in flight.
    pub const NO_MESSAGE: ResponseCode = ResponseCode(208);
}

/// What a header field holds, for typed headers.
fn field<T: std::str::FromStr>(ext: &ExtFields, key: &'static str) -> Result<T, DecodeError> {
    ext.get(key)
        .ok_or(DecodeError::Truncated(key))?
        .trim()
        .parse()
        .map_err(|_| DecodeError::Invalid(key))
}

fn opt_field<T: std::str::FromStr>(
    ext: &ExtFields,
    key: &'static str,
) -> Result<Option<T>, DecodeError> {
    ext.get(key)
        .map(|v| v.trim().parse().map_err(|_| DecodeError::Invalid(key)))
        .transpose()
}

fn text(ext: &ExtFields, key: &'static str) -> Result<String, DecodeError> {
    ext.get(key)
        .map(str::to_owned)
        .ok_or(DecodeError::Truncated(key))
}

/// PopMessageRequestHeader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopMessageRequest {
    /// consumerGroup.
    pub consumer_group: String,
    /// topic.
    pub topic: String,
    /// queueId; -1 = every queue.
    pub queue_id: i32,
    /// maxMsgNums.
    pub max_msg_nums: i32,
    /// invisibleTime, ms.
    pub invisible_time: i64,
    /// pollTime, ms (long polling).
    pub poll_time: i64,
    /// bornTime, ms.
    pub born_time: i64,
    /// initMode: 0 = from the queue's minimum, 1 = from its end.
    pub init_mode: i32,
    /// expType (TAG / SQL92).
    pub exp_type: Option<String>,
    /// exp.
    pub exp: Option<String>,
    /// order.
    pub order: bool,
    /// attemptId.
    pub attempt_id: Option<String>,
}

impl PopMessageRequest {
    /// From a request's extFields.
    pub fn from_ext(ext: &ExtFields) -> Result<Self, DecodeError> {
        Ok(PopMessageRequest {
            consumer_group: text(ext, "consumerGroup")?,
            topic: text(ext, "topic")?,
            queue_id: field(ext, "queueId")?,
            max_msg_nums: field(ext, "maxMsgNums")?,
            invisible_time: field(ext, "invisibleTime")?,
            poll_time: field(ext, "pollTime")?,
            born_time: field(ext, "bornTime")?,
            init_mode: field(ext, "initMode")?,
            exp_type: ext.get("expType").map(str::to_owned),
            exp: ext.get("exp").map(str::to_owned),
            order: opt_field(ext, "order")?.unwrap_or(false),
            attempt_id: ext.get("attemptId").map(str::to_owned),
        })
    }

    /// As extFields.
    pub fn to_ext(&self) -> ExtFields {
        let mut e = ExtFields::default();
        e.insert("consumerGroup", &*self.consumer_group);
        e.insert("topic", &*self.topic);
        e.insert("queueId", self.queue_id.to_string());
        e.insert("maxMsgNums", self.max_msg_nums.to_string());
        e.insert("invisibleTime", self.invisible_time.to_string());
        e.insert("pollTime", self.poll_time.to_string());
        e.insert("bornTime", self.born_time.to_string());
        e.insert("initMode", self.init_mode.to_string());
        for (k, v) in [
            ("expType", &self.exp_type),
            ("exp", &self.exp),
            ("attemptId", &self.attempt_id),
        ] {
            if let Some(v) = v {
                e.insert(k, &**v);
            }
        }
        e.insert("order", self.order.to_string());
        e
    }
}

/// PopMessageResponseHeader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PopMessageResponse {
    /// popTime, ms.
    pub pop_time: i64,
    /// invisibleTime, ms.
    pub invisible_time: i64,
    /// reviveQid (999 for orderly pops).
    pub revive_qid: i32,
    /// restNum: messages left in the queues looked at.
    pub rest_num: i64,
    /// startOffsetInfo.
    pub start_offset_info: Option<String>,
    /// msgOffsetInfo.
    pub msg_offset_info: Option<String>,
    /// orderCountInfo.
    pub order_count_info: Option<String>,
}

impl PopMessageResponse {
    /// From a response's extFields.
    pub fn from_ext(ext: &ExtFields) -> Result<Self, DecodeError> {
        Ok(PopMessageResponse {
            pop_time: field(ext, "popTime")?,
            invisible_time: field(ext, "invisibleTime")?,
            revive_qid: field(ext, "reviveQid")?,
            rest_num: field(ext, "restNum")?,
            start_offset_info: ext.get("startOffsetInfo").map(str::to_owned),
            msg_offset_info: ext.get("msgOffsetInfo").map(str::to_owned),
            order_count_info: ext.get("orderCountInfo").map(str::to_owned),
        })
    }

    /// As extFields.
    pub fn to_ext(&self) -> ExtFields {
        let mut e = ExtFields::default();
        e.insert("popTime", self.pop_time.to_string());
        e.insert("invisibleTime", self.invisible_time.to_string());
        e.insert("reviveQid", self.revive_qid.to_string());
        e.insert("restNum", self.rest_num.to_string());
        for (k, v) in [
            ("startOffsetInfo", &self.start_offset_info),
            ("msgOffsetInfo", &self.msg_offset_info),
            ("orderCountInfo", &self.order_count_info),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                e.insert(k, v);
            }
        }
        e
    }
}

/// AckMessageRequestHeader, and ChangeInvisibleTimeRequestHeader when
/// `invisible_time` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckRequest {
    /// consumerGroup.
    pub consumer_group: String,
    /// topic (the consumed topic, or already the retry topic).
    pub topic: String,
    /// queueId.
    pub queue_id: i32,
    /// extraInfo (the message's POP_CK).
    pub extra_info: String,
    /// offset: the message's queue offset.
    pub offset: i64,
    /// invisibleTime (CHANGE_MESSAGE_INVISIBLETIME only).
    pub invisible_time: Option<i64>,
}

impl AckRequest {
    /// From a request's extFields; `change` requires invisibleTime.
    pub fn from_ext(ext: &ExtFields, change: bool) -> Result<Self, DecodeError> {
        Ok(AckRequest {
            consumer_group: text(ext, "consumerGroup")?,
            topic: text(ext, "topic")?,
            queue_id: field(ext, "queueId")?,
            extra_info: text(ext, "extraInfo")?,
            offset: field(ext, "offset")?,
            invisible_time: if change {
                Some(field(ext, "invisibleTime")?)
            } else {
                None
            },
        })
    }

    /// As extFields.
    pub fn to_ext(&self) -> ExtFields {
        let mut e = ExtFields::default();
        e.insert("consumerGroup", &*self.consumer_group);
        e.insert("topic", &*self.topic);
        e.insert("queueId", self.queue_id.to_string());
        e.insert("extraInfo", &*self.extra_info);
        e.insert("offset", self.offset.to_string());
        if let Some(t) = self.invisible_time {
            e.insert("invisibleTime", t.to_string());
        }
        e
    }
}

/// NotificationRequestHeader (and PollingInfoRequestHeader: the first
/// three fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRequest {
    /// consumerGroup.
    pub consumer_group: String,
    /// topic.
    pub topic: String,
    /// queueId; -1 = every queue.
    pub queue_id: i32,
    /// pollTime, ms (0 for POLLING_INFO).
    pub poll_time: i64,
    /// bornTime, ms (0 for POLLING_INFO).
    pub born_time: i64,
    /// order.
    pub order: bool,
}

impl NotificationRequest {
    /// From extFields; `polling_info` reads only group, topic and queue.
    pub fn from_ext(ext: &ExtFields, polling_info: bool) -> Result<Self, DecodeError> {
        Ok(NotificationRequest {
            consumer_group: text(ext, "consumerGroup")?,
            topic: text(ext, "topic")?,
            queue_id: field(ext, "queueId")?,
            poll_time: if polling_info {
                0
            } else {
                field(ext, "pollTime")?
            },
            born_time: if polling_info {
                0
            } else {
                field(ext, "bornTime")?
            },
            order: opt_field(ext, "order")?.unwrap_or(false),
        })
    }

    /// As extFields.
    pub fn to_ext(&self) -> ExtFields {
        let mut e = ExtFields::default();
        e.insert("consumerGroup", &*self.consumer_group);
        e.insert("topic", &*self.topic);
        e.insert("queueId", self.queue_id.to_string());
        e.insert("pollTime", self.poll_time.to_string());
        e.insert("bornTime", self.born_time.to_string());
        e.insert("order", self.order.to_string());
        e
    }
}

/// The parsed extraInfo of a popped message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraInfo {
    /// Checkpoint offset (first offset of the batch in the queue).
    pub ck_offset: i64,
    /// Pop time, ms.
    pub pop_time: i64,
    /// Invisible time, ms.
    pub invisible_time: i64,
    /// reviveQid.
    pub revive_qid: i32,
    /// `0` topic, `1` retry topic (V1 name), `2` retry topic (V2 name).
    pub retry: String,
    /// Broker name.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// The message's queue offset (absent in the 7-field form).
    pub queue_offset: Option<i64>,
}

fn int<T: std::str::FromStr>(i: &str) -> IResult<&str, T> {
    map_res(recognize(pair(opt(char('-')), digit1)), str::parse).parse(i)
}

fn word(i: &str) -> IResult<&str, &str> {
    take_till1(|c: char| c == ' ' || c == ';').parse(i)
}

impl ExtraInfo {
    /// Parses `s` (7 or 8 space-separated fields).
    pub fn parse(s: &str) -> Result<ExtraInfo, DecodeError> {
        let sp = || char(' ');
        let mut p = all_consuming((
            int::<i64>,
            preceded(sp(), int::<i64>),
            preceded(sp(), int::<i64>),
            preceded(sp(), int::<i32>),
            preceded(sp(), word),
            preceded(sp(), word),
            preceded(sp(), int::<i32>),
            opt(preceded(sp(), int::<i64>)),
        ));
        let (_, (ck_offset, pop_time, invisible_time, revive_qid, retry, broker, queue_id, qo)) =
            p.parse(s).map_err(|_| DecodeError::Invalid("extraInfo"))?;
        Ok(ExtraInfo {
            ck_offset,
            pop_time,
            invisible_time,
            revive_qid,
            retry: retry.to_owned(),
            broker_name: broker.to_owned(),
            queue_id,
            queue_offset: qo,
        })
    }

    /// The real topic of `topic` (as the ack names it) for `group`.
    pub fn real_topic(&self, topic: &str, group: &str) -> String {
        if topic.starts_with("%RETRY%") {
            return topic.to_owned();
        }
        match self.retry.as_str() {
            "1" => format!("%RETRY%{group}_{topic}"),
            "2" => format!("%RETRY%{group}+{topic}"),
            _ => topic.to_owned(),
        }
    }
}

impl std::fmt::Display for ExtraInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {}",
            self.ck_offset,
            self.pop_time,
            self.invisible_time,
            self.revive_qid,
            self.retry,
            self.broker_name,
            self.queue_id
        )?;
        if let Some(o) = self.queue_offset {
            write!(f, " {o}")?;
        }
        Ok(())
    }
}

/// One `retry queue value` triple of the POP response's offset infos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetInfoEntry {
    /// Retry mark (`0`, `1`, `2`).
    pub retry: String,
    /// Queue part: a queue id, or `qo<queueId>%<offset>`.
    pub queue: String,
    /// Offsets (one for startOffsetInfo and counts).
    pub values: Vec<i64>,
}

/// Encodes offset-info triples (`;`-separated, values `,`-separated).
pub fn encode_offset_info(entries: &[OffsetInfoEntry]) -> String {
    entries
        .iter()
        .map(|e| {
            let v: Vec<String> = e.values.iter().map(i64::to_string).collect();
            format!("{} {} {}", e.retry, e.queue, v.join(","))
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Parses offset-info triples.
pub fn parse_offset_info(s: &str) -> Result<Vec<OffsetInfoEntry>, DecodeError> {
    let queue = take_while1(|c: char| c != ' ' && c != ';');
    let entry = (
        word,
        preceded(char(' '), queue),
        preceded(char(' '), separated_list1(tag(","), int::<i64>)),
    );
    let (_, v) = all_consuming(separated_list1(char(';'), entry))
        .parse(s)
        .map_err(|_| DecodeError::Invalid("offset info"))?;
    Ok(v.into_iter()
        .map(|(r, q, values)| OffsetInfoEntry {
            retry: r.to_owned(),
            queue: q.to_owned(),
            values,
        })
        .collect())
}

/// One BatchAck of BATCH_ACK_MESSAGE (fastjson short names, long ones
/// accepted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchAck {
    /// consumerGroup.
    #[serde(rename = "c", alias = "consumerGroup")]
    pub consumer_group: String,
    /// topic.
    #[serde(rename = "t", alias = "topic")]
    pub topic: String,
    /// retry mark.
    #[serde(rename = "r", alias = "retry")]
    pub retry: String,
    /// Checkpoint start offset.
    #[serde(rename = "so", alias = "startOffset")]
    pub start_offset: i64,
    /// queueId.
    #[serde(rename = "q", alias = "queueId")]
    pub queue_id: i32,
    /// reviveQueueId.
    #[serde(rename = "rq", alias = "reviveQueueId")]
    pub revive_queue_id: i32,
    /// popTime.
    #[serde(rename = "pt", alias = "popTime")]
    pub pop_time: i64,
    /// invisibleTime.
    #[serde(rename = "it", alias = "invisibleTime")]
    pub invisible_time: i64,
    /// Java `BitSet.toByteArray()` of acked `offset - startOffset`, base64
    /// (fastjson's byte[] form).
    #[serde(rename = "b", alias = "bitSet", with = "bitset")]
    pub bit_set: Vec<u8>,
}

impl BatchAck {
    /// The acked queue offsets.
    pub fn offsets(&self) -> Vec<i64> {
        let mut out = Vec::new();
        for (i, byte) in self.bit_set.iter().enumerate() {
            for bit in 0..8 {
                if byte & (1 << bit) != 0 {
                    out.push(self.start_offset + (i * 8 + bit) as i64);
                }
            }
        }
        out
    }

    /// Sets the bits of `offsets` (each ≥ `start_offset`).
    pub fn set_offsets(&mut self, offsets: &[i64]) {
        for o in offsets {
            let i = (o - self.start_offset).max(0) as usize;
            if self.bit_set.len() <= i / 8 {
                self.bit_set.resize(i / 8 + 1, 0);
            }
            if let Some(b) = self.bit_set.get_mut(i / 8) {
                *b |= 1 << (i % 8);
            }
        }
    }
}

mod bitset {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(serde::de::Error::custom)
    }
}

/// BatchAckMessageRequestBody.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchAckBody {
    /// brokerName.
    pub broker_name: Option<String>,
    /// acks.
    pub acks: Vec<BatchAck>,
}

/// QueryAssignmentRequestBody.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryAssignmentRequest {
    /// topic.
    pub topic: String,
    /// consumerGroup.
    pub consumer_group: String,
    /// clientId.
    pub client_id: String,
    /// strategyName (AVG, ...).
    pub strategy_name: Option<String>,
    /// messageModel: CLUSTERING / BROADCASTING.
    pub message_model: Option<String>,
}

/// One MessageQueueAssignment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueAssignment {
    /// messageQueue (queueId -1: every queue, POP).
    pub message_queue: super::body::MessageQueue,
    /// mode: PULL / POP.
    pub mode: String,
    /// attachments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<std::collections::BTreeMap<String, String>>,
}

/// QueryAssignmentResponseBody.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryAssignmentResponse {
    /// messageQueueAssignments.
    pub message_queue_assignments: Vec<QueueAssignment>,
}

/// SetMessageRequestModeRequestBody (also what is persisted per
/// topic and group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SetRequestMode {
    /// topic.
    pub topic: String,
    /// consumerGroup.
    pub consumer_group: String,
    /// mode: PULL / POP.
    pub mode: String,
    /// popShareQueueNum.
    pub pop_share_queue_num: i32,
}

impl Default for SetRequestMode {
    fn default() -> Self {
        SetRequestMode {
            topic: String::new(),
            consumer_group: String::new(),
            mode: "PULL".to_owned(),
            pop_share_queue_num: 0,
        }
    }
}

#[cfg(test)]
#[path = "pop_tests.rs"]
mod tests;
