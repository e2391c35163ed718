//! SendMessage: each message is checked, placed on a queue (by message
//! group for FIFO messages, round robin otherwise) and stored through
//! [`put`], the one place a gRPC message reaches the store, as a normal,
//! delayed or half (transactional) message.
//!
//! The delivery time of a DELAY message is written as `TIMER_DELIVER_MS`,
//! and the broker's one put path (`broker::put`, ADR 019) parks it as a
//! timer message: millisecond precision, up to `timerMaxDelaySec` ahead.
//!
//! In cluster mode only the master of a group holding the topic stores a
//! send (`groups::check_send`), and with `brokerRole=SYNC_MASTER` a stored
//! message is answered once the in-sync replicas hold it (ADR 015): else
//! HA_NOT_AVAILABLE (in-sync set too small) or SLAVE_PERSISTENCE_TIMEOUT,
//! the codes upstream's proxy gives those send statuses.

use std::net::SocketAddr;

use rokka_protocols::remoting::message::{create_message_id, encode_properties};
use rokka_protocols::remoting::ResponseCode;
use rokka_store::{AppendPayload, MessageToStore};

use super::message::{outgoing, Outgoing};
use super::pb::{self, Code};
use super::service::Service;
use super::{ok, Failure};
use crate::broker::put::{put_message, PutError, PutMessage};
use crate::metrics::topic_traffic::{self, Protocol};
use crate::remoting::context::now_ms;
use crate::remoting::send::{map_put_error, replicated, resolve_topic, validate_topic};
use crate::remoting::transaction::half;

/// Most messages in one SendMessage request.
const MAX_BATCH: usize = 1024;

/// Where a message was stored.
#[derive(Debug)]
pub(crate) struct Put {
    /// The offset message id of the stored record (a transaction's id).
    pub(crate) offset_id: String,
    /// The queue offset in the record's real queue (the half queue for a
    /// transactional message, the schedule queue for a delayed one).
    pub(crate) queue_offset: u64,
}

/// A refused put → the API code (an illegal timer is ILLEGAL_DELIVERY_TIME).
fn put_failure(e: &PutError) -> Failure {
    match e {
        PutError::TimerIllegal(_) => Failure::new(Code::IllegalDeliveryTime, e.to_string()),
        _ => map_put_error(e).into(),
    }
}

fn queue_for(svc: &Service, m: &Outgoing, writable: u32) -> u32 {
    let w = writable.max(1);
    match &m.group {
        Some(g) => (rokka_store::java_string_hash(g).unsigned_abs()) % w,
        None => (svc.ctx.next_queue() % u64::from(w)) as u32,
    }
}

/// Stores one checked message: the single put path of the gRPC front-end.
pub(crate) async fn put(svc: &Service, m: &Outgoing, peer: SocketAddr) -> Result<Put, Failure> {
    let ctx = &*svc.ctx;
    validate_topic(&m.topic).map_err(|e| Failure::new(Code::IllegalTopic, e.remark))?;
    super::groups::check_send(svc, &m.topic)?;
    let t = resolve_topic(
        ctx,
        &m.topic,
        "TBW102",
        ctx.broker.config.default_topic_queue_nums,
    )?;
    let queue = queue_for(svc, m, t.write_queue_nums);
    let cluster = ctx.broker.config.broker_cluster_name.as_str();
    let props = encode_properties(
        m.properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain([("CLUSTER", cluster)]),
    );
    let now = now_ms();
    let (store_topic, store_queue, props, sys_flag) = match m.kind {
        pb::MessageType::Transaction => {
            let (t, q, p) = half(ctx, &m.topic, queue, &props)?;
            (t, q, p, 0)
        }
        // A delivery time is the TIMER_DELIVER_MS property: parked by the put.
        _ => (m.topic.clone(), queue, props, 0),
    };
    if props.len() > i16::MAX as usize {
        return Err(Failure::new(
            Code::MessagePropertiesTooLarge,
            format!(
                "the message properties are {} bytes, at most 32767",
                props.len()
            ),
        ));
    }
    let msg = MessageToStore {
        flag: 0,
        body: m.body.clone(),
        sys_flag,
        born_timestamp: if m.born_timestamp > 0 {
            m.born_timestamp
        } else {
            now
        },
        born_host: peer,
        reconsume_times: 0,
        prepared_tx_offset: 0,
        properties: props.into(),
    };
    let put = put_message(
        &ctx.broker,
        PutMessage {
            topic: store_topic,
            queue_id: store_queue,
            payload: AppendPayload::Message(msg),
        },
    )
    .await
    .map_err(|e| put_failure(&e))?;
    let r = put.result;
    topic_traffic::produced(Protocol::Remoting, &put.topic, put.queue_id, &r);
    match replicated(ctx, &r).await {
        ResponseCode::SLAVE_NOT_AVAILABLE => {
            return Err(Failure::new(
                Code::HaNotAvailable,
                "stored, but the in-sync set is smaller than min.insync.replicas",
            ))
        }
        ResponseCode::FLUSH_SLAVE_TIMEOUT => {
            return Err(Failure::new(
                Code::SlavePersistenceTimeout,
                "stored, but the in-sync replicas did not acknowledge it in time",
            ))
        }
        _ => {}
    }
    Ok(Put {
        offset_id: create_message_id(ctx.advertised, r.phy_offset as i64),
        queue_offset: r.queue_offset,
    })
}

fn entry(status: Option<pb::Status>) -> pb::SendResultEntry {
    pb::SendResultEntry {
        status,
        ..Default::default()
    }
}

/// SendMessage.
pub(crate) async fn send_message(
    svc: &Service,
    peer: Option<SocketAddr>,
    req: pb::SendMessageRequest,
) -> pb::SendMessageResponse {
    let peer = peer.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    if req.messages.is_empty() || req.messages.len() > MAX_BATCH {
        let f = Failure::bad(format!("a request carries 1 to {MAX_BATCH} messages"));
        return pb::SendMessageResponse {
            status: f.status(),
            entries: Vec::new(),
        };
    }
    let mut entries = Vec::with_capacity(req.messages.len());
    let mut first_error = None;
    for m in req.messages {
        let sent = match outgoing(m) {
            Ok(m) => put(svc, &m, peer).await.map(|p| (m, p)),
            Err(f) => Err(f),
        };
        match sent {
            Ok((m, p)) => entries.push(pb::SendResultEntry {
                status: ok(),
                transaction_id: if m.kind == pb::MessageType::Transaction {
                    p.offset_id.clone()
                } else {
                    String::new()
                },
                message_id: if m.message_id.is_empty() {
                    p.offset_id
                } else {
                    m.message_id
                },
                offset: p.queue_offset as i64,
            }),
            Err(f) => {
                first_error.get_or_insert_with(|| f.status());
                entries.push(entry(f.status()));
            }
        }
    }
    pb::SendMessageResponse {
        status: first_error.unwrap_or_else(ok),
        entries,
    }
}
