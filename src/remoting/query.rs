//! QUERY_MESSAGE (12, by KEYS word or by UNIQ_KEY through the index) and
//! VIEW_MESSAGE_BY_ID (33, by CommitLog offset). Bodies are whole stored
//! records, as a pull returns them. Record `i` of a Kafka batch entry at
//! CommitLog offset `P` is converted with physical offset `P + i`
//! everywhere, so its offset message id names it alone.

use bytes::Bytes;
use rokka_protocols::remoting::{RemotingCommand, ResponseCode};
use rokka_store::{EntryKind, Store};

use crate::broker::format::to_rocketmq::{has_key, kafka_entry_to_messages, kafka_record_at};

use super::context::{now_ms, Ctx, HResult, HandlerError, Reply};
use super::header::{opt, req, req_str};

/// QUERY_MESSAGE: SUCCESS with the records, or QUERY_NOT_FOUND.
pub(crate) fn query_message(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let topic = req_str(cmd, "topic")?;
    let key = req_str(cmd, "key")?;
    let max: i64 = req(cmd, "maxNum")?;
    let begin: i64 = opt(cmd, "beginTimestamp")?.unwrap_or(0);
    let end: i64 = opt(cmd, "endTimestamp")?.unwrap_or(i64::MAX);
    let unique = opt::<bool>(cmd, "_UNIQUE_KEY_QUERY")?.unwrap_or(false);
    let store = &ctx.broker.store;
    let found = if unique {
        store
            .query_by_unique_id(topic, key, begin, end)
            .into_iter()
            .collect()
    } else {
        store.query_by_key(topic, key, begin, end, max.clamp(1, 64) as usize)
    };
    // A Kafka batch answers with its records whose KEYS hold the key.
    let mut body = Vec::new();
    let mut batches = std::collections::HashSet::new();
    for e in found {
        if e.kind == EntryKind::RocketMq {
            body.push(e.bytes);
        } else if batches.insert(e.phy_offset) {
            let msgs = kafka_entry_to_messages(&e, store.store_host()).unwrap_or_default();
            body.extend(
                msgs.into_iter()
                    .filter(|m| has_key(m, key))
                    .map(|m| m.bytes),
            );
        }
    }
    if body.is_empty() {
        return Err(HandlerError::new(
            ResponseCode::QUERY_NOT_FOUND,
            "can not find message, maybe time range not correct",
        ));
    }
    let mut resp = cmd.response_to(ResponseCode::SUCCESS.0);
    let e = resp.ext_mut();
    e.insert("indexLastUpdateTimestamp", now_ms().to_string());
    e.insert(
        "indexLastUpdatePhyoffset",
        store.commit_log_bounds().1.to_string(),
    );
    Ok(Reply { cmd: resp, body })
}

/// The stored message a CommitLog offset names, as a pull returns it: the
/// RocketMQ entry starting at `offset`, or, for `offset = P + i`, record `i`
/// of the Kafka batch entry stored at `P` (the physical offset, hence offset
/// message id, that record carries in pulls and queries). `None` otherwise,
/// e.g. for `P + i` with `i` past the record count or a control batch.
pub(crate) fn message_at(store: &Store, offset: i64) -> Option<Bytes> {
    let phy = u64::try_from(offset).ok()?;
    let e = store.read_enclosing(phy)?;
    match e.kind {
        EntryKind::RocketMq => (e.phy_offset == phy).then_some(e.bytes),
        EntryKind::KafkaBatch => kafka_record_at(&e, phy, store.store_host()).map(|m| m.bytes),
    }
}

/// VIEW_MESSAGE_BY_ID: the message at CommitLog offset `offset` (see
/// [`message_at`]), or SYSTEM_ERROR.
pub(crate) fn view_by_id(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let offset: i64 = req(cmd, "offset")?;
    let msg = message_at(&ctx.broker.store, offset).ok_or_else(|| {
        HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("can not find message by the offset, {offset}"),
        )
    })?;
    Ok(Reply {
        cmd: cmd.response_to(ResponseCode::SUCCESS.0),
        body: vec![msg],
    })
}
