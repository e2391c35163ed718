//! The one put path of every front-end send (remoting single and batch
//! sends, transaction commits, delay-level and timer re-delivery): applies
//! the delay-level and timer transformations (upstream `HookUtils`), stores,
//! and indexes a parked timer message. Protocol-neutral: the caller builds a
//! [`PutMessage`] and maps a [`PutError`] to its own error codes.

use bytes::Bytes;
use rokka_protocols::remoting::message::{decode_message, decode_properties, encode_properties};
use rokka_store::topics::TopicConfig;
use rokka_store::{AppendPayload, AppendRequest, AppendResult, MessageToStore, StoreError};

use super::timer::{self, Decision, TIMER_TOPIC};
use super::{delay, Core};

/// sysFlag transaction-type mask, PREPARED and COMMIT.
const TX_MASK: i32 = 0xC;
const TX_COMMIT: i32 = 0x8;

/// A message (or batch) to store in `topic`/`queue_id`.
#[derive(Debug)]
pub struct PutMessage {
    /// Topic the producer sent to.
    pub topic: String,
    /// Queue chosen for it.
    pub queue_id: u32,
    /// One message, or a batch (never transformed: delay and timer
    /// properties in a batch are refused).
    pub payload: AppendPayload,
}

/// Where the message was stored.
#[derive(Debug)]
pub struct Put {
    /// The append's outcome.
    pub result: AppendResult,
    /// Topic it was stored in (the schedule or timer topic when parked).
    pub topic: String,
    /// Queue it was stored in.
    pub queue_id: u32,
}

/// Why a put was refused.
#[derive(Debug)]
pub enum PutError {
    /// The message itself is unacceptable.
    Illegal(String),
    /// A timer property is not a number, or the time is beyond
    /// `timerMaxDelaySec` (the maximum delay in ms).
    TimerIllegal(u64),
    /// `timerWheelEnable=false` and the message asks for a timer.
    TimerNotEnabled,
    /// `rokka.timerMaxPending` timers are waiting.
    TimerFlowControl(usize),
    /// The store refused the append.
    Store(StoreError),
}

impl std::fmt::Display for PutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PutError::Illegal(s) => f.write_str(s),
            PutError::TimerIllegal(max) => write!(
                f,
                "timer message illegal: the timer property must be a number and the delivery \
                 time at most {max} ms ahead"
            ),
            PutError::TimerNotEnabled => {
                f.write_str("accurate timer message is not enabled, timerWheelEnable is false")
            }
            PutError::TimerFlowControl(n) => write!(
                f,
                "timer message is under flow control: {n} timers are pending (rokka.timerMaxPending)"
            ),
            PutError::Store(e) => write!(f, "{e}"),
        }
    }
}

fn is_system(topic: &str) -> bool {
    topic.starts_with("RMQ_SYS_") || topic == delay::SCHEDULE_TOPIC || topic == TIMER_TOPIC
}

/// False when the raw properties cannot hold a delay level or a timer: no
/// `DELAY` key and no `TIMER_` text anywhere (every timer key starts with
/// it). Most sends have neither and skip decoding their properties.
fn may_delay_or_timer(props: &[u8]) -> bool {
    let has = |needle: &[u8]| props.windows(needle.len()).any(|w| w == needle);
    has(b"DELAY\x01") || has(b"TIMER_")
}

fn has_delay_or_timer(props: &[u8]) -> bool {
    if !may_delay_or_timer(props) {
        return false;
    }
    let s = String::from_utf8_lossy(props);
    decode_properties(&s)
        .iter()
        .any(|(k, v)| (*k == "DELAY" && *v != "0") || timer::TIMER_PROPS.contains(k))
}

/// Parks a delay-level or timer message; returns the due time of a timer.
fn transform(
    broker: &Core,
    topic: &mut String,
    queue_id: &mut u32,
    msg: &mut MessageToStore,
    now: i64,
) -> Result<Option<i64>, PutError> {
    let tx = msg.sys_flag & TX_MASK;
    if (tx != 0 && tx != TX_COMMIT)
        || is_system(topic)
        || topic.starts_with("%DLQ%")
        || !may_delay_or_timer(&msg.properties)
    {
        return Ok(None);
    }
    let props = String::from_utf8_lossy(&msg.properties).into_owned();
    let (parked, due) = if let Some(level) = delay::delay_level(&props) {
        (
            delay::park(&broker.store, level, topic, *queue_id, &props)?,
            None,
        )
    } else {
        match timer::decide(&decode_properties(&props), &broker.timer_config, now)? {
            Decision::NotTimer | Decision::DueNow => return Ok(None),
            Decision::Park(due) => (
                timer::park(&broker.store, due, topic, *queue_id, &props)?,
                Some(due),
            ),
        }
    };
    let (t, q, p) = parked;
    if p.len() > i16::MAX as usize {
        return Err(PutError::Illegal("properties too long".into()));
    }
    (*topic, *queue_id, msg.properties) = (t, q, Bytes::from(p));
    Ok(due)
}

/// Stores a message after the delay-level and timer transformations.
pub async fn put_message(broker: &Core, m: PutMessage) -> Result<Put, PutError> {
    let PutMessage {
        mut topic,
        mut queue_id,
        mut payload,
    } = m;
    let due = match &mut payload {
        AppendPayload::Message(msg) => {
            transform(broker, &mut topic, &mut queue_id, msg, timer::now_ms())?
        }
        AppendPayload::Messages(msgs) => {
            if msgs.iter().any(|m| has_delay_or_timer(&m.properties)) {
                return Err(PutError::Illegal(
                    "batch messages do not support delay levels or timers".into(),
                ));
            }
            None
        }
        _ => None,
    };
    let guard = due.map(|_| broker.timers.begin_park()).transpose()?;
    let result = broker
        .store
        .append(AppendRequest {
            topic: Bytes::copy_from_slice(topic.as_bytes()),
            queue_id,
            payload,
        })
        .await
        .map_err(PutError::Store)?;
    if let Some(due) = due {
        broker
            .timers
            .add(due, result.queue_offset, result.phy_offset);
    }
    drop(guard);
    Ok(Put {
        result,
        topic,
        queue_id,
    })
}

/// Where a message is parked: a system topic with `queues` queues, and the
/// property saying when it is due (replacing the keys in `drop`).
pub(crate) struct Parking {
    pub(crate) topic: &'static str,
    pub(crate) queues: u32,
    pub(crate) due: (&'static str, String),
    pub(crate) drop: &'static [&'static str],
}

/// Creates the parking topic and rewrites `props` for it: the due property,
/// `REAL_TOPIC` and `REAL_QID` added.
pub(crate) fn park_props(
    store: &rokka_store::Store,
    p: Parking,
    real_topic: &str,
    real_qid: u32,
    props: &str,
) -> Result<String, PutError> {
    store
        .topics()
        .get_or_create(TopicConfig::new(p.topic, p.queues))
        .map_err(PutError::Store)?;
    let qid = real_qid.to_string();
    let mut pairs: Vec<(&str, &str)> = decode_properties(props)
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "REAL_TOPIC" | "REAL_QID") && !p.drop.contains(k))
        .collect();
    pairs.push((p.due.0, &p.due.1));
    pairs.push(("REAL_TOPIC", real_topic));
    pairs.push(("REAL_QID", &qid));
    Ok(encode_properties(pairs))
}

/// The message parked in a schedule or timer entry, addressed back to its
/// `REAL_TOPIC`/`REAL_QID` (the topic is created when it vanished), with
/// `WAIT=true` and without `DELAY`; `TIMER_OUT_MS` is kept so it is not
/// parked again. `None`: nothing to deliver (no real topic).
pub fn restore_parked(broker: &Core, bytes: &Bytes) -> Result<Option<PutMessage>, String> {
    let (m, _) = decode_message(bytes).map_err(|e| e.to_string())?;
    let props = decode_properties(&m.properties);
    let find = |key: &str| props.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let (Some(topic), Some(qid)) = (
        find("REAL_TOPIC"),
        find("REAL_QID").and_then(|v| v.parse::<u32>().ok()),
    ) else {
        return Ok(None);
    };
    let t = broker
        .topic(topic)
        .or_else(|| {
            broker
                .store
                .topics()
                .get_or_create(TopicConfig::new(topic, 1))
                .ok()
        })
        .ok_or("real topic missing")?;
    let mut kept: Vec<(&str, &str)> = props
        .iter()
        .copied()
        .filter(|(k, _)| !matches!(*k, "REAL_TOPIC" | "REAL_QID" | "DELAY" | "WAIT"))
        .collect();
    kept.push(("WAIT", "true"));
    Ok(Some(PutMessage {
        topic: topic.to_owned(),
        queue_id: qid.min(t.write_queue_nums.max(1) - 1),
        payload: AppendPayload::Message(MessageToStore {
            flag: m.flag,
            body: m.body.clone(),
            sys_flag: m.sys_flag & !0x30,
            born_timestamp: m.born_timestamp,
            born_host: m.born_host,
            reconsume_times: m.reconsume_times,
            prepared_tx_offset: 0,
            properties: encode_properties(kept).into(),
        }),
    }))
}
