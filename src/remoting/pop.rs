//! POP_MESSAGE (200050), NOTIFICATION (200054) and POLLING_INFO (200055):
//! the remoting face of the broker's POP engine (`broker/pop`, ADR 020).
//!
//! A pop that finds nothing parks like a suspended pull (up to its
//! `pollTime`, capped below the clients' timeout) until data arrives in one
//! of its queues or its retry topic, or an orderly queue is released, then
//! answers SUCCESS with the messages or POLLING_TIMEOUT (210). The response
//! header carries `popTime`, `invisibleTime`, `reviveQid` (999 for orderly
//! pops), `restNum`, and the `startOffsetInfo` / `msgOffsetInfo` /
//! `orderCountInfo` from which the client builds each message's `POP_CK`.

use std::time::{Duration, Instant};

use rokka_protocols::remoting::pop::{
    encode_offset_info, NotificationRequest, OffsetInfoEntry, PopMessageRequest, PopMessageResponse,
};
use rokka_protocols::remoting::{ExtFields, RemotingCommand, ResponseCode};
use rokka_store::topics::TopicConfig;

use super::context::{Ctx, HResult, HandlerError, Reply};
use super::reply::ok;
use crate::broker::pop::revive::now_ms;
use crate::broker::pop::sift::sift;
use crate::broker::pop::{PopBatch, PopEngine, PopRequest, MAX_POP_NUMS, ORDER_REVIVE_QID};

/// Longest park of a pop or notification (clients wait pollTime + a margin).
const MAX_POLL: Duration = Duration::from_secs(25);

/// The engine, or a clear error when its journal could not be opened.
pub(crate) fn engine(ctx: &Ctx) -> Result<&PopEngine, HandlerError> {
    ctx.broker.pop.as_deref().ok_or_else(|| {
        HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            "POP is unavailable on this broker: its journal could not be opened (see the log)",
        )
    })
}

/// The engine for a pop, a notification or an ack. Cluster mode: POP state
/// is the master's (ADR 020), so another node refuses with
/// SERVICE_NOT_AVAILABLE naming the master (the client pops again later,
/// from the route's master); a returning old master would otherwise pop
/// its unacknowledged tail, and a slave would keep in-flight state the
/// master never sees.
pub(crate) fn master_engine(ctx: &Ctx) -> Result<&PopEngine, HandlerError> {
    if let Some(c) = &ctx.broker.cluster {
        if !c.is_writable_master() {
            let master = c.master_label(|a| &a.remoting);
            return Err(HandlerError::new(
                ResponseCode::SERVICE_NOT_AVAILABLE,
                format!(
                    "POP is served by the master of broker group {} (master: {master}); this node is not its writable master",
                    c.group()
                ),
            ));
        }
    }
    engine(ctx)
}

pub(crate) fn ext(cmd: &RemotingCommand) -> ExtFields {
    cmd.ext_fields.clone().unwrap_or_default()
}

pub(crate) fn bad(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::new(ResponseCode::INVALID_PARAMETER, e.to_string())
}

pub(crate) fn io_error(e: std::io::Error) -> HandlerError {
    HandlerError::new(ResponseCode::SYSTEM_ERROR, format!("POP journal: {e}"))
}

/// The readable topic and the queues a request names (-1: all).
fn queues(ctx: &Ctx, topic: &str, queue_id: i32) -> Result<(TopicConfig, Vec<u32>), HandlerError> {
    let t = ctx.broker.topic(topic).ok_or_else(|| {
        HandlerError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist, apply first please!"),
        )
    })?;
    if t.perm & 4 == 0 {
        return Err(HandlerError::new(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{topic}] peeking message is forbidden"),
        ));
    }
    let qs = match u32::try_from(queue_id) {
        Err(_) if queue_id == -1 => (0..t.read_queue_nums).collect(),
        Ok(q) if q < t.read_queue_nums => vec![q],
        _ => {
            return Err(bad(format!(
                "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}]",
                t.read_queue_nums
            )))
        }
    };
    Ok((t, qs))
}

fn poll_time(ms: i64) -> Duration {
    Duration::from_millis(ms.max(0) as u64).min(MAX_POLL)
}

/// POP_MESSAGE.
pub(crate) async fn pop(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let h = PopMessageRequest::from_ext(&ext(cmd)).map_err(bad)?;
    let engine = master_engine(ctx)?;
    super::sub_groups::check_pull(ctx, &h.consumer_group)?;
    if let Err(r) = super::offsets::commit_allowed(ctx, &h.consumer_group, "POP_MESSAGE") {
        return Err(HandlerError::new(
            ResponseCode::NO_PERMISSION,
            r.to_string(),
        ));
    }
    if h.max_msg_nums < 1 || h.max_msg_nums as u32 > MAX_POP_NUMS {
        return Err(bad(format!(
            "the broker[{}] pop message's num is greater than {MAX_POP_NUMS}",
            ctx.advertised.ip()
        )));
    }
    if h.invisible_time <= 0 {
        return Err(bad("invisibleTime must be positive"));
    }
    let (t, qs) = queues(ctx, &h.topic, h.queue_id)?;
    // TAG or, with enablePropertyFilter=true, SQL92 (the pull's rules and
    // errors); SQL92 is evaluated on the popped messages (`pop::sift`).
    let filter = super::pull::message_filter(
        ctx,
        &h.consumer_group,
        &h.topic,
        h.exp_type.as_deref().unwrap_or("TAG"),
        h.exp.as_deref().unwrap_or("*"),
    )?;
    let codes = filter.tag_codes();
    let keep = |code: i64| codes.is_none_or(|s| s.contains(&(code as i32)));
    let req = PopRequest {
        group: &h.consumer_group,
        topic: &h.topic,
        queue: (h.queue_id >= 0).then_some(h.queue_id as u32),
        read_queues: t.read_queue_nums,
        max: h.max_msg_nums as u32,
        invisible: h.invisible_time,
        orderly: h.order,
        from_min: h.init_mode == 0,
        filter: codes.map(|_| &keep as &(dyn Fn(i64) -> bool + Sync)),
    };
    let pop = || {
        let b = engine.pop(&req, now_ms())?;
        sift(engine, &h.consumer_group, b, &filter)
    };
    let mut batch = pop().map_err(io_error)?;
    let deadline = Instant::now() + poll_time(h.poll_time);
    if batch.is_empty() && Instant::now() < deadline {
        let _parked = engine.park(&h.consumer_group, &h.topic, h.queue_id);
        while batch.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || ctx.broker.is_shutting_down() {
                break;
            }
            tokio::select! {
                () = engine.wait(&h.consumer_group, &h.topic, &qs, left) => {}
                () = ctx.broker.shutdown_signal() => break,
            }
            batch = pop().map_err(io_error)?;
        }
    }
    Ok(respond(cmd, &batch, h.order))
}

fn respond(cmd: &RemotingCommand, b: &PopBatch, orderly: bool) -> Reply {
    let code = if b.is_empty() {
        ResponseCode::POLLING_TIMEOUT
    } else {
        ResponseCode::SUCCESS
    };
    let mark = |retry: bool| if retry { "1" } else { "0" }.to_owned();
    let mut start = Vec::new();
    let mut offsets = Vec::new();
    let mut counts = Vec::new();
    let mut body = Vec::new();
    for q in &b.queues {
        let first = q.msgs.first().map_or(0, |m| m.0 as i64);
        start.push(OffsetInfoEntry {
            retry: mark(q.retry),
            queue: q.queue.to_string(),
            values: vec![first],
        });
        offsets.push(OffsetInfoEntry {
            retry: mark(q.retry),
            queue: q.queue.to_string(),
            values: q.msgs.iter().map(|m| m.0 as i64).collect(),
        });
        for (offset, attempts, bytes) in &q.msgs {
            if orderly {
                counts.push(OffsetInfoEntry {
                    retry: mark(q.retry),
                    queue: format!("qo{}%{offset}", q.queue),
                    values: vec![i64::from(*attempts)],
                });
            }
            body.push(bytes.clone());
        }
    }
    let info = |v: &[OffsetInfoEntry]| (!v.is_empty()).then(|| encode_offset_info(v));
    let h = PopMessageResponse {
        pop_time: b.pop_time,
        invisible_time: b.invisible,
        revive_qid: if orderly { ORDER_REVIVE_QID } else { 0 },
        rest_num: b.rest as i64,
        start_offset_info: info(&start),
        msg_offset_info: info(&offsets),
        order_count_info: info(&counts),
    };
    let mut resp = cmd.response_to(code.0);
    resp.ext_fields = Some(h.to_ext());
    Reply { cmd: resp, body }
}

/// NOTIFICATION: whether a pop would find messages, waiting up to
/// `pollTime` for some.
pub(crate) async fn notification(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let h = NotificationRequest::from_ext(&ext(cmd), false).map_err(bad)?;
    let engine = master_engine(ctx)?;
    let (_, qs) = queues(ctx, &h.topic, h.queue_id)?;
    let g = &h.consumer_group;
    let mut has = engine.has_messages(g, &h.topic, &qs, h.order, now_ms());
    let wait = poll_time(h.poll_time);
    if !has && !wait.is_zero() {
        let _parked = engine.park(g, &h.topic, h.queue_id);
        tokio::select! {
            () = engine.wait(g, &h.topic, &qs, wait) => {}
            () = ctx.broker.shutdown_signal() => {}
        }
        has = engine.has_messages(g, &h.topic, &qs, h.order, now_ms());
    }
    Ok(ok(
        cmd,
        &[
            ("hasMsg", has.to_string()),
            ("pollingFull", "false".to_owned()),
        ],
    ))
}

/// POLLING_INFO: how many pops are parked on the queue.
pub(crate) fn polling_info(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let h = NotificationRequest::from_ext(&ext(cmd), true).map_err(bad)?;
    let engine = engine(ctx)?;
    queues(ctx, &h.topic, h.queue_id)?;
    let n = engine.parked(&h.consumer_group, &h.topic, h.queue_id);
    Ok(ok(cmd, &[("pollingNum", n.to_string())]))
}
