//! Transactional messages (rocketmq-remoting §11), without back-checks: a
//! PREPARED send (sysFlag 0x4) is parked in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0
//! with `REAL_TOPIC`/`REAL_QID` and is invisible to consumers;
//! END_TRANSACTION (37) COMMIT re-appends it to its real queue with sysFlag
//! COMMIT (0x8) and `preparedTxOffset` = the half record's offset; ROLLBACK
//! and "unknown" leave it parked. A half offset is committed at most once.

use std::collections::HashSet;
use std::sync::Mutex;

use rokka_protocols::remoting::message::{decode_message, decode_properties, encode_properties};
use rokka_protocols::remoting::{RemotingCommand, ResponseCode};
use rokka_store::topics::TopicConfig;
use rokka_store::{AppendPayload, EntryKind, MessageToStore};

use super::context::{map_store_error, Ctx, HResult, HandlerError};
use super::dispatch::ok;
use super::header::{opt, req, req_str};
use super::send::append;

/// The half-message topic.
pub(crate) const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// sysFlag transaction-type mask and values.
pub(crate) const TX_MASK: i32 = 0xC;
/// PREPARED (half message).
pub(crate) const TX_PREPARED: i32 = 0x4;
const TX_COMMIT: i32 = 0x8;
const TX_ROLLBACK: i32 = 0xC;

/// Half offsets already committed or rolled back.
#[derive(Debug, Default)]
pub(crate) struct Transactions {
    done: Mutex<HashSet<u64>>,
}

/// Rewrites a PREPARED send for the half topic: (topic, queue, properties).
pub(crate) fn half(
    ctx: &Ctx,
    topic: &str,
    queue_id: u32,
    props: &str,
) -> Result<(String, u32, String), HandlerError> {
    ctx.broker
        .store
        .topics()
        .get_or_create(TopicConfig::new(HALF_TOPIC, 1))
        .map_err(|e| map_store_error(&e))?;
    let qid = queue_id.to_string();
    let mut pairs: Vec<(&str, &str)> = decode_properties(props)
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "REAL_TOPIC" | "REAL_QID" | "DELAY"))
        .collect();
    pairs.push(("REAL_TOPIC", topic));
    pairs.push(("REAL_QID", &qid));
    Ok((HALF_TOPIC.to_owned(), 0, encode_properties(pairs)))
}

fn illegal(remark: impl Into<String>) -> HandlerError {
    HandlerError::new(ResponseCode::SYSTEM_ERROR, remark)
}

/// END_TRANSACTION (37), usually oneway.
pub(crate) async fn end_transaction(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let group = req_str(cmd, "producerGroup")?;
    let state: i32 = req(cmd, "commitOrRollback")?;
    let offset: i64 = req(cmd, "commitLogOffset")?;
    let table_offset: Option<i64> = opt(cmd, "tranStateTableOffset")?;
    if state != TX_COMMIT && state != TX_ROLLBACK {
        return Ok(ok(cmd, &[]));
    }
    let phy = u64::try_from(offset).map_err(|_| illegal("invalid commitLogOffset"))?;
    let entry = ctx
        .broker
        .store
        .read_at(phy)
        .filter(|e| e.kind == EntryKind::RocketMq)
        .ok_or_else(|| illegal(format!("no half message at offset {offset}")))?;
    let (m, _) = decode_message(&entry.bytes).map_err(|e| illegal(e.to_string()))?;
    if m.topic != HALF_TOPIC || table_offset.is_some_and(|t| t != m.queue_offset) {
        return Err(illegal("the offsets do not name a half message"));
    }
    if m.property("PGROUP").is_some_and(|g| g != group) {
        return Err(illegal(
            "the producer group does not match the half message",
        ));
    }
    if !ctx
        .transactions
        .done
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(phy)
    {
        return Ok(ok(cmd, &[]));
    }
    if state == TX_ROLLBACK {
        return Ok(ok(cmd, &[]));
    }
    let props = decode_properties(&m.properties);
    let topic = props
        .iter()
        .rev()
        .find(|(k, _)| *k == "REAL_TOPIC")
        .map(|(_, v)| (*v).to_owned())
        .ok_or_else(|| illegal("half message without REAL_TOPIC"))?;
    let qid: u32 = props
        .iter()
        .rev()
        .find(|(k, _)| *k == "REAL_QID")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let kept: Vec<(&str, &str)> = props
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "REAL_TOPIC" | "REAL_QID"))
        .collect();
    let msg = MessageToStore {
        flag: m.flag,
        body: m.body.clone(),
        sys_flag: (m.sys_flag & !TX_MASK & !0x30) | TX_COMMIT,
        born_timestamp: m.born_timestamp,
        born_host: m.born_host,
        reconsume_times: m.reconsume_times,
        prepared_tx_offset: offset,
        properties: encode_properties(kept).into(),
    };
    if let Err(e) = append(ctx, &topic, qid, AppendPayload::Message(msg)).await {
        // Let a retried END_TRANSACTION try again.
        ctx.transactions
            .done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&phy);
        return Err(e);
    }
    Ok(ok(cmd, &[]))
}
