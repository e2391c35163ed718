//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361), served identically.
//!
//! Status → code per rocketmq-remoting §7.2; every 0/19/20/21 answer carries
//! `suggestWhichBrokerId` (0), `nextBeginOffset`, `minOffset`, `maxOffset`.
//! With the SUSPEND flag a PULL_NOT_FOUND is parked until the queue grows or
//! `suspendTimeoutMillis` (capped below the clients' 30 s timeout) passes,
//! then re-run once. The COMMIT_OFFSET flag stores `commitOffset` first.
//! SQL92 subscriptions (`enablePropertyFilter=true`, `broker::filter`)
//! evaluate the selector on each read message's properties; the rest are
//! skipped and `nextBeginOffset` moves past them, so a pull that kept
//! nothing answers PULL_RETRY_IMMEDIATELY further on, as upstream.
//! Tag filtering compares ConsumeQueue tags codes with the hashes of the
//! subscription's tags, rebuilt from the expression string (trimmed), not
//! taken from the client's code set (CLIENT-NOTES: the Rust client hashes
//! untrimmed tags).
//!
//! Kafka batch entries are converted by `broker::format` to one stored
//! message per record; records before the requested offset, and records
//! whose own tags code the filter rejects, are left out. Kafka
//! transactions (ADR 014): records of aborted transactions are never
//! delivered, and nothing at or past the last stable offset is (a pull
//! held back by an open transaction waits briefly, like a suspended pull,
//! then answers PULL_NOT_FOUND); `maxOffset` is the LSO.

use std::time::Duration;

use rokka_protocols::kafka::txn_log::{batch_producer, ATTR_TRANSACTIONAL};
use rokka_protocols::remoting::message::decode_message;
use rokka_protocols::remoting::{RemotingCommand, ResponseCode};
use rokka_store::{EntryKind, GetResult, GetStatus};

use super::context::{Ctx, HResult, HandlerError, Reply};
use super::header::{opt, req, req_str};
use crate::broker::filter::{FilterError, MessageFilter};

const FLAG_COMMIT_OFFSET: i32 = 1;
const FLAG_SUSPEND: i32 = 2;
const FLAG_SUBSCRIPTION: i32 = 4;
const MAX_SUSPEND: Duration = Duration::from_secs(25);
const MAX_PULL_BYTES: usize = 256 * 1024;
/// Longest park of a suspended pull held back by an open Kafka transaction.
const LSO_SUSPEND: Duration = Duration::from_millis(500);

struct PullArgs<'a> {
    group: &'a str,
    topic: &'a str,
    queue_id: u32,
    offset: u64,
    max_nums: u32,
    max_bytes: usize,
    sys_flag: i32,
    suspend: Duration,
}

fn parse(cmd: &RemotingCommand) -> Result<PullArgs<'_>, HandlerError> {
    let queue_id: i64 = req(cmd, "queueId")?;
    let offset: i64 = req(cmd, "queueOffset")?;
    let bad = |f: &str| HandlerError::new(ResponseCode::SYSTEM_ERROR, format!("invalid {f}"));
    Ok(PullArgs {
        group: req_str(cmd, "consumerGroup")?,
        topic: req_str(cmd, "topic")?,
        queue_id: u32::try_from(queue_id).map_err(|_| bad("queueId"))?,
        offset: u64::try_from(offset).map_err(|_| bad("queueOffset"))?,
        max_nums: req::<i64>(cmd, "maxMsgNums")?.clamp(1, 1024) as u32,
        max_bytes: opt::<i64>(cmd, "maxMsgBytes")?.map_or(MAX_PULL_BYTES, |b| {
            b.clamp(1, MAX_PULL_BYTES as i64) as usize
        }),
        sys_flag: req(cmd, "sysFlag")?,
        suspend: Duration::from_millis(opt::<u64>(cmd, "suspendTimeoutMillis")?.unwrap_or(0))
            .min(MAX_SUSPEND),
    })
}

/// PULL_MESSAGE / LITE_PULL_MESSAGE.
pub(crate) async fn pull(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let a = parse(cmd)?;
    super::sub_groups::check_pull(ctx, a.group)?;
    let t = ctx.broker.topic(a.topic).ok_or_else(|| {
        HandlerError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!", a.topic),
        )
    })?;
    if t.perm & 4 == 0 {
        return Err(HandlerError::new(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] pulling message is forbidden", a.topic),
        ));
    }
    if a.queue_id >= t.read_queue_nums {
        return Err(HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}]",
                a.queue_id, a.topic, t.read_queue_nums
            ),
        ));
    }
    let (expr_type, expr) = if a.sys_flag & FLAG_SUBSCRIPTION != 0 {
        (
            cmd.ext("expressionType").unwrap_or("TAG").to_owned(),
            cmd.ext("subscription").unwrap_or("*").to_owned(),
        )
    } else {
        // No registered subscription (a pull that overtook its heartbeat):
        // serve everything; the client re-filters by tag string.
        ctx.clients
            .subscription(a.group, a.topic)
            .map(|s| {
                (
                    s.expression_type.unwrap_or_else(|| "TAG".to_owned()),
                    s.sub_string,
                )
            })
            .unwrap_or_else(|| ("TAG".to_owned(), "*".to_owned()))
    };
    let filter = message_filter(ctx, a.group, a.topic, &expr_type, &expr)?;
    let codes = filter.tag_codes();
    if a.sys_flag & FLAG_COMMIT_OFFSET != 0 {
        // A group held by Kafka members keeps its offsets (ADR 006).
        let allowed = super::offsets::commit_allowed(ctx, a.group, "PULL_MESSAGE commit").is_ok();
        if let Some(c) = opt::<i64>(cmd, "commitOffset")?.filter(|c| *c >= 0 && allowed) {
            super::offset_forward::commit(ctx, a.group, a.topic, a.queue_id, c);
        }
    }
    let mut r = read(ctx, &a, codes);
    let suspend = a.sys_flag & FLAG_SUSPEND != 0 && !a.suspend.is_zero();
    if code_of(&r, a.offset) == ResponseCode::PULL_NOT_FOUND && suspend {
        // Cluster mode: data above the high watermark becomes readable
        // with the replicas' acks, not with new appends.
        let cluster = ctx.broker.cluster.as_ref();
        let above_hw = cluster.filter(|c| c.high_watermark() < ctx.broker.store.log_end());
        // A replica whose log does not agree with a master's yet: its data
        // becomes readable with the handshake, not with appends.
        let unsure = cluster.filter(|c| !c.is_master() && !c.serves_replica_reads());
        tokio::select! {
            _ = ctx.broker.store.wait_for_data(a.topic, a.queue_id, a.offset, a.suspend), if above_hw.is_none() && unsure.is_none() => {}
            _ = async { if let Some(c) = above_hw { c.wait_ack(a.suspend).await } }, if above_hw.is_some() && unsure.is_none() => {}
            _ = async { if let Some(c) = unsure { c.wait_replica_reads(a.suspend).await } }, if unsure.is_some() => {}
            _ = ctx.broker.shutdown_signal() => {}
        }
        r = read(ctx, &a, codes);
    } else if suspend && a.offset as i64 >= lso(ctx, &a, &r) && r.status == GetStatus::Found {
        // Stored but not yet decided: wait a little for the transaction.
        tokio::select! {
            () = tokio::time::sleep(a.suspend.min(LSO_SUSPEND)) => {}
            () = ctx.broker.shutdown_signal() => {}
        }
        r = read(ctx, &a, codes);
    }
    let reply = respond(ctx, cmd, &r, &a, &filter);
    crate::metrics::topic_traffic::pulled(a.topic, a.queue_id, a.group, &reply.body);
    Ok(reply)
}

/// The subscription's filter. Upstream's answers: a SQL92 subscription
/// while `enablePropertyFilter` is off is SYSTEM_ERROR "The broker does not
/// support consumer to filter message by SQL92"; a selector that does not
/// compile is SUBSCRIPTION_PARSE_FAILED.
pub(crate) fn message_filter(
    ctx: &Ctx,
    group: &str,
    topic: &str,
    expr_type: &str,
    expr: &str,
) -> Result<MessageFilter, HandlerError> {
    let enabled = ctx.broker.config.enable_property_filter;
    match ctx
        .broker
        .filters
        .filter(enabled, group, topic, expr_type, expr)
    {
        Ok(f) => Ok(f),
        Err(FilterError::Unsupported(t)) => Err(HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("The broker does not support consumer to filter message by {t}"),
        )),
        Err(FilterError::Invalid(err)) => {
            tracing::debug!(group, topic, %err, "unparsable subscription");
            Err(HandlerError::new(
                ResponseCode::SUBSCRIPTION_PARSE_FAILED,
                "parse the consumer's subscription failed",
            ))
        }
    }
}

/// SQL92: true if the stored message `bytes` satisfies the selector (an
/// undecodable record is kept, the client sees and reports it).
fn keeps(filter: &MessageFilter, bytes: &bytes::Bytes) -> bool {
    match decode_message(bytes) {
        Ok((m, _)) => filter.matches(0, &m.properties),
        Err(_) => true,
    }
}

fn read(ctx: &Ctx, a: &PullArgs<'_>, codes: Option<&std::collections::HashSet<i32>>) -> GetResult {
    let filter = |code: i64| codes.is_none_or(|s| s.contains(&(code as i32)));
    let f: &dyn Fn(i64) -> bool = &filter;
    let r = ctx.broker.store.get_messages(
        a.topic,
        a.queue_id,
        a.offset,
        a.max_nums,
        a.max_bytes,
        codes.map(|_| f),
    );
    match &ctx.broker.cluster {
        Some(c) if c.is_master() => below_watermark(ctx, a, r, c.high_watermark()),
        Some(c) if c.serves_replica_reads() => hold_position(a, r),
        Some(_) => nothing_yet(a, r),
        None => r,
    }
}

/// Cluster mode, a node that is not master and whose log does not agree
/// with a master's yet (`Cluster::serves_replica_reads`): it serves
/// nothing and keeps the consumer where it is. Its tail may be entries no
/// master has (a restarted or demoted old master's unacknowledged
/// appends); a consumer that read them would then skip the messages the
/// new master stores at those offsets.
fn nothing_yet(a: &PullArgs<'_>, mut r: GetResult) -> GetResult {
    r.entries.clear();
    r.status = GetStatus::OffsetOverflowOne;
    r.next_offset = a.offset;
    r.max_offset = r.max_offset.min(a.offset);
    r
}

/// Cluster mode, a node that is not its group's master (a slave, or a node
/// still joining): it never moves a consumer's offset. What it holds may lag
/// the master, or is a tail the master does not have, so "your offset is
/// past my end" says nothing about the queue. Upstream's slave answers the
/// same way (`offsetCheckInSlave` off): the next offset stays the
/// requested one. Past the end is "nothing yet" (a suspended pull waits for
/// the replica to catch up); before the start or in a queue this node does
/// not hold yet is "retry" (the client pulls again, from the master once
/// its route names one). Without this a consumer that pulled from a lagging
/// replica during a failover was sent back to the replica's end and
/// consumed those messages again.
fn hold_position(a: &PullArgs<'_>, mut r: GetResult) -> GetResult {
    match r.status {
        GetStatus::OffsetOverflowBadly => r.status = GetStatus::OffsetOverflowOne,
        GetStatus::OffsetTooSmall => r.status = GetStatus::OffsetFoundNull,
        GetStatus::NoMatchedLogicQueue | GetStatus::NoMessageInQueue if a.offset != 0 => {
            r.status = GetStatus::OffsetFoundNull
        }
        _ => return r,
    }
    r.next_offset = a.offset;
    r
}

/// Cluster mode (ADR 015): only entries below the high watermark `hw` (a
/// CommitLog offset) are served, and `maxOffset` is the queue end below it,
/// so a consumer never commits past what every in-sync replica holds.
fn below_watermark(ctx: &Ctx, a: &PullArgs<'_>, mut r: GetResult, hw: u64) -> GetResult {
    let max = ctx.broker.store.max_offset_below(a.topic, a.queue_id, hw);
    if r.max_offset <= max {
        return r;
    }
    r.max_offset = max;
    r.entries.retain(|e| e.phy_offset < hw);
    r.next_offset = r.next_offset.min(max.max(a.offset));
    if r.status == GetStatus::Found && r.entries.is_empty() {
        r.status = GetStatus::OffsetOverflowOne;
        r.next_offset = a.offset;
    }
    r
}

/// The queue's last stable offset (its end unless a Kafka transaction is
/// open on it).
fn lso(ctx: &Ctx, a: &PullArgs<'_>, r: &GetResult) -> i64 {
    ctx.broker
        .txns
        .lso(a.topic, a.queue_id, r.max_offset as i64)
}

/// True if `e` is a batch of an aborted Kafka transaction.
fn aborted(ctx: &Ctx, a: &PullArgs<'_>, e: &rokka_store::StoredEntry) -> bool {
    let producer = rokka_store::entry::kafka::batch_range(&e.bytes)
        .and_then(|range| e.bytes.get(range))
        .and_then(batch_producer);
    match producer {
        Some((attrs, pid, _)) if attrs & ATTR_TRANSACTIONAL != 0 => {
            ctx.broker
                .txns
                .is_aborted(a.topic, a.queue_id, pid, e.queue_offset as i64)
        }
        _ => false,
    }
}

fn code_of(r: &GetResult, offset: u64) -> ResponseCode {
    match r.status {
        GetStatus::Found => ResponseCode::SUCCESS,
        GetStatus::NoMatchedLogicQueue | GetStatus::NoMessageInQueue => {
            if offset == 0 {
                ResponseCode::PULL_NOT_FOUND
            } else {
                ResponseCode::PULL_OFFSET_MOVED
            }
        }
        GetStatus::OffsetTooSmall | GetStatus::OffsetOverflowBadly => {
            ResponseCode::PULL_OFFSET_MOVED
        }
        GetStatus::OffsetOverflowOne => ResponseCode::PULL_NOT_FOUND,
        GetStatus::NoMatchedMessage | GetStatus::OffsetFoundNull => {
            ResponseCode::PULL_RETRY_IMMEDIATELY
        }
    }
}

fn status_name(s: GetStatus) -> &'static str {
    match s {
        GetStatus::Found => "FOUND",
        GetStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
        GetStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
        GetStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
        GetStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
        GetStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
        GetStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
        GetStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
    }
}

fn respond(
    ctx: &Ctx,
    cmd: &RemotingCommand,
    r: &GetResult,
    a: &PullArgs<'_>,
    filter: &MessageFilter,
) -> Reply {
    let offset = a.offset;
    let mut code = code_of(r, offset);
    let next = match r.status {
        GetStatus::NoMatchedLogicQueue | GetStatus::NoMessageInQueue => 0,
        GetStatus::OffsetOverflowOne => offset,
        _ => r.next_offset,
    };
    // At most maxMsgNums messages, as RocketMQ brokers answer: a Kafka batch
    // may hold more records than that, and clients size their consume queues
    // by it. A pull that stops inside a batch resumes at the next record.
    let max = a.max_nums as usize;
    let lso = lso(ctx, a, r);
    let mut body = Vec::with_capacity(r.entries.len().min(max));
    let mut next = next;
    let mut held = false;
    'entries: for e in &r.entries {
        if body.len() >= max {
            next = e.queue_offset;
            break;
        }
        if e.queue_offset as i64 >= lso {
            // An open Kafka transaction: nothing from here on is decided.
            next = e.queue_offset.max(offset);
            held = true;
            break;
        }
        if e.kind == EntryKind::RocketMq {
            // TAG filters ran on the ConsumeQueue; SQL92 reads properties.
            if !filter.needs_properties() || keeps(filter, &e.bytes) {
                body.push(e.bytes.clone());
            }
            continue;
        }
        if aborted(ctx, a, e) {
            continue;
        }
        match ctx
            .broker
            .converted
            .messages(e, ctx.broker.store.store_host())
        {
            Ok(msgs) => {
                for m in msgs.iter().filter(|m| m.queue_offset >= offset) {
                    if body.len() >= max {
                        next = m.queue_offset;
                        break 'entries;
                    }
                    let keep = if filter.needs_properties() {
                        keeps(filter, &m.bytes)
                    } else {
                        filter.matches(m.tags_code, "")
                    };
                    if keep {
                        body.push(m.bytes.clone());
                    }
                }
            }
            Err(err) => {
                tracing::warn!(topic = a.topic, phy = e.phy_offset, %err, "unreadable Kafka batch");
            }
        }
    }
    if code == ResponseCode::SUCCESS && body.is_empty() {
        code = if held && next <= offset {
            ResponseCode::PULL_NOT_FOUND
        } else {
            ResponseCode::PULL_RETRY_IMMEDIATELY
        };
    }
    let mut resp = cmd.response_to(code.0);
    resp.remark = Some(status_name(r.status).to_owned());
    let e = resp.ext_mut();
    e.insert("suggestWhichBrokerId", "0");
    e.insert("nextBeginOffset", next.to_string());
    e.insert("minOffset", r.min_offset.to_string());
    e.insert("maxOffset", lso.max(0).to_string());
    Reply { cmd: resp, body }
}
