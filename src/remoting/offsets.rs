//! Consumer offsets and queue offset look-ups: QUERY_CONSUMER_OFFSET (14),
//! UPDATE_CONSUMER_OFFSET (15), GET_MAX_OFFSET (30), GET_MIN_OFFSET (31),
//! SEARCH_OFFSET_BY_TIMESTAMP (29), GET_EARLIEST_MSG_STORETIME (32).
//! All offsets are ConsumeQueue (logical) offsets. UPDATE_CONSUMER_OFFSET
//! is refused while the group has live Kafka members (ADR 006).

use rokka_protocols::remoting::{RemotingCommand, ResponseCode};
use tracing::{debug, warn};

use super::context::{Ctx, HResult, HandlerError};
use super::header::{opt, req, req_str};
use super::reply::ok;
use crate::broker::groups::{Protocol, Refusal};
use crate::cluster::offset_forward::{KAFKA_ORIGIN, SLAVE_ORIGIN};

fn queue(cmd: &RemotingCommand) -> Result<(&str, u32), HandlerError> {
    let q: i64 = req(cmd, "queueId")?;
    let q = u32::try_from(q)
        .map_err(|_| HandlerError::new(ResponseCode::SYSTEM_ERROR, "invalid queueId"))?;
    Ok((req_str(cmd, "topic")?, q))
}

/// QUERY_CONSUMER_OFFSET: the committed offset; else 0 while the queue was
/// never truncated (a new group on a young queue starts at 0, as upstream);
/// else QUERY_NOT_FOUND (22).
pub(crate) fn query_consumer_offset(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let group = req_str(cmd, "consumerGroup")?;
    let (topic, q) = queue(cmd)?;
    let store = &ctx.broker.store;
    if let Some(c) = store.offsets().fetch(group, topic, q) {
        return Ok(ok(cmd, &[("offset", c.offset.to_string())]));
    }
    let zero_ok = opt::<bool>(cmd, "setZeroIfNotFound")?.unwrap_or(true);
    if zero_ok && store.min_offset(topic, q) == 0 {
        return Ok(ok(cmd, &[("offset", "0".to_owned())]));
    }
    Err(HandlerError::new(
        ResponseCode::QUERY_NOT_FOUND,
        "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
    ))
}

/// Whether a RocketMQ request (`what`, for the log) may write committed
/// offsets of `group`: refused, logged and counted while the group has live
/// Kafka members (ADR 006). Every RocketMQ offset write goes through this.
pub(crate) fn commit_allowed(ctx: &Ctx, group: &str, what: &str) -> Result<(), Refusal> {
    commit_allowed_as(ctx, group, Protocol::Remoting, what)
}

/// [`commit_allowed`] for a commit of `protocol`'s consumers.
fn commit_allowed_as(
    ctx: &Ctx,
    group: &str,
    protocol: Protocol,
    what: &str,
) -> Result<(), Refusal> {
    ctx.broker
        .groups
        .may_commit(group, protocol)
        .inspect_err(|r| {
            if r.repeated {
                debug!(
                    group,
                    owner = r.owner.label(),
                    members = r.members,
                    "{what} refused: {r}"
                );
            } else {
                warn!(
                    group,
                    owner = r.owner.label(),
                    members = r.members,
                    "{what} refused: {r}"
                );
            }
        })
}

/// UPDATE_CONSUMER_OFFSET (usually oneway, so a refusal is just dropped).
/// One a Kafka coordinator of another broker group forwards (ADR 024,
/// marked [`KAFKA_ORIGIN`]) is refused while RocketMQ consumers of the
/// group are live here, as a Kafka commit would be. One a slave forwards
/// (ADR 015, marked [`SLAVE_ORIGIN`]) only moves the offset forward.
pub(crate) fn update_consumer_offset(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let group = req_str(cmd, "consumerGroup")?;
    let (topic, q) = queue(cmd)?;
    let offset: i64 = req(cmd, "commitOffset")?;
    if offset < 0 {
        return Err(HandlerError::new(
            ResponseCode::INVALID_PARAMETER,
            "commitOffset is negative",
        ));
    }
    let (protocol, what) = match opt::<bool>(cmd, KAFKA_ORIGIN)? {
        Some(true) => (Protocol::Kafka, "forwarded Kafka commit"),
        _ => (Protocol::Remoting, "UPDATE_CONSUMER_OFFSET"),
    };
    if let Err(r) = commit_allowed_as(ctx, group, protocol, what) {
        return Err(HandlerError::new(ResponseCode::SYSTEM_ERROR, r.to_string()));
    }
    if opt::<bool>(cmd, SLAVE_ORIGIN)? == Some(true) {
        super::offset_forward::advance(ctx, group, topic, q, offset);
    } else {
        super::offset_forward::commit(ctx, group, topic, q, offset);
    }
    Ok(ok(cmd, &[]))
}

/// GET_MAX_OFFSET (0 if the queue does not exist): the last stable offset,
/// so a consumer starting "from the end" does not skip an open Kafka
/// transaction that later commits (ADR 014).
pub(crate) fn max_offset(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let (topic, q) = queue(cmd)?;
    let end = ctx.broker.store.max_offset(topic, q);
    let v = ctx.broker.txns.lso(topic, q, end as i64);
    Ok(ok(cmd, &[("offset", v.to_string())]))
}

/// GET_MIN_OFFSET.
pub(crate) fn min_offset(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let (topic, q) = queue(cmd)?;
    let v = ctx.broker.store.min_offset(topic, q);
    Ok(ok(cmd, &[("offset", v.to_string())]))
}

/// SEARCH_OFFSET_BY_TIMESTAMP: the first offset stored at or after `timestamp`.
pub(crate) fn search_by_timestamp(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let (topic, q) = queue(cmd)?;
    let ts: i64 = req(cmd, "timestamp")?;
    let v = ctx.broker.store.offset_for_timestamp(topic, q, ts);
    Ok(ok(cmd, &[("offset", v.to_string())]))
}

/// GET_EARLIEST_MSG_STORETIME (-1 if the queue is empty).
pub(crate) fn earliest_store_time(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let (topic, q) = queue(cmd)?;
    let store = &ctx.broker.store;
    let ts = store
        .store_time_at(topic, q, store.min_offset(topic, q))
        .unwrap_or(-1);
    Ok(ok(cmd, &[("timestamp", ts.to_string())]))
}
