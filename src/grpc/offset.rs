//! The offset RPCs of the 5.x API: QueryOffset (a queue's beginning, end or
//! the offset at a time), GetOffset and UpdateOffset (a group's committed
//! offset) and PullMessage (messages of one queue from an offset, no
//! receipt handles). They work on the broker's consumer offset table, the
//! one remoting QUERY_/UPDATE_CONSUMER_OFFSET use, so a group keeps its
//! position across protocols; UpdateOffset is refused while the group has
//! live Kafka members (ADR 006), as a remoting commit is. All offsets are
//! ConsumeQueue (logical) offsets.

use std::time::{Duration, Instant};

use super::message::{incoming, timestamp_ms};
use super::pb::{self, pull_message_response::Content, Code};
use super::receive::polling_time;
use super::service::Service;
use super::{name, ok, status, Failure};
use crate::broker::pop::read;
use crate::broker::pop::MAX_POP_NUMS;
use crate::remoting::offsets::commit_allowed;
use rokka_protocols::remoting::message::decode_message;

/// The (topic, queue id) a request names; the topic must exist and the
/// queue be one of its readable queues.
fn queue<'a>(svc: &Service, mq: Option<&'a pb::MessageQueue>) -> Result<(&'a str, u32), Failure> {
    let mq = mq.ok_or_else(|| Failure::bad("message_queue is required"))?;
    let topic = name(mq.topic.as_ref())?;
    super::groups::check_held(svc, topic)?;
    let t = svc.ctx.broker.topic(topic).ok_or_else(|| {
        Failure::new(Code::TopicNotFound, format!("topic {topic} does not exist"))
    })?;
    match u32::try_from(mq.id) {
        Ok(q) if q < t.read_queue_nums => Ok((topic, q)),
        _ => Err(Failure::bad(format!(
            "queue {} of topic {topic} does not exist ({} readable queues)",
            mq.id, t.read_queue_nums
        ))),
    }
}

/// QueryOffset: the queue's first offset, its end (the last stable offset,
/// as remoting GET_MAX_OFFSET) or the first offset stored at or after a time.
pub(crate) fn query_offset(svc: &Service, req: &pb::QueryOffsetRequest) -> pb::QueryOffsetResponse {
    let answer = || -> Result<i64, Failure> {
        let (topic, q) = queue(svc, req.message_queue.as_ref())?;
        let broker = &svc.ctx.broker;
        let store = &broker.store;
        match pb::QueryOffsetPolicy::try_from(req.query_offset_policy) {
            Ok(pb::QueryOffsetPolicy::Beginning) => Ok(store.min_offset(topic, q) as i64),
            Ok(pb::QueryOffsetPolicy::End) => {
                Ok(broker.txns.lso(topic, q, store.max_offset(topic, q) as i64))
            }
            Ok(pb::QueryOffsetPolicy::Timestamp) => {
                let ts = req
                    .timestamp
                    .as_ref()
                    .ok_or_else(|| Failure::bad("the TIMESTAMP policy needs a timestamp"))?;
                Ok(store.offset_for_timestamp(topic, q, timestamp_ms(ts)) as i64)
            }
            Err(_) => Err(Failure::bad(format!(
                "unknown query_offset_policy {}",
                req.query_offset_policy
            ))),
        }
    };
    match answer() {
        Ok(offset) => pb::QueryOffsetResponse {
            status: ok(),
            offset,
        },
        Err(f) => pb::QueryOffsetResponse {
            status: f.status(),
            offset: 0,
        },
    }
}

/// GetOffset: the group's committed offset; else 0 while the queue was never
/// truncated (as QUERY_CONSUMER_OFFSET with setZeroIfNotFound); else
/// OFFSET_NOT_FOUND.
pub(crate) fn get_offset(svc: &Service, req: &pb::GetOffsetRequest) -> pb::GetOffsetResponse {
    let answer = || -> Result<i64, Failure> {
        let group = name(req.group.as_ref())?;
        let (topic, q) = queue(svc, req.message_queue.as_ref())?;
        let store = &svc.ctx.broker.store;
        if let Some(c) = store.offsets().fetch(group, topic, q) {
            return Ok(c.offset);
        }
        if store.min_offset(topic, q) == 0 {
            return Ok(0);
        }
        Err(Failure::new(
            Code::OffsetNotFound,
            format!("group {group} has no offset for {topic} queue {q}"),
        ))
    };
    match answer() {
        Ok(offset) => pb::GetOffsetResponse {
            status: ok(),
            offset,
        },
        Err(f) => pb::GetOffsetResponse {
            status: f.status(),
            offset: 0,
        },
    }
}

/// UpdateOffset: commits the group's offset of one queue.
pub(crate) fn update_offset(
    svc: &Service,
    req: &pb::UpdateOffsetRequest,
) -> pb::UpdateOffsetResponse {
    let answer = || -> Result<(), Failure> {
        let group = name(req.group.as_ref())?;
        let (topic, q) = queue(svc, req.message_queue.as_ref())?;
        if req.offset < 0 {
            return Err(Failure::new(Code::IllegalOffset, "offset is negative"));
        }
        commit_allowed(&svc.ctx, group, "gRPC UpdateOffset")
            .map_err(|r| Failure::new(Code::Forbidden, r.to_string()))?;
        crate::remoting::offset_forward::commit(&svc.ctx, group, topic, q, req.offset);
        Ok(())
    };
    pb::UpdateOffsetResponse {
        status: answer().map_or_else(|f| f.status(), |()| ok()),
    }
}

fn response(c: Content) -> pb::PullMessageResponse {
    pb::PullMessageResponse { content: Some(c) }
}

/// PullMessage: the whole response stream — the status, the messages, the
/// offset to pull from next. An offset outside the queue answers
/// ILLEGAL_OFFSET with the nearest valid one; nothing new after the
/// long-polling wait answers MESSAGE_NOT_FOUND with the same offset.
pub(crate) async fn pull(
    svc: &Service,
    req: pb::PullMessageRequest,
    deadline: Option<Duration>,
) -> Vec<pb::PullMessageResponse> {
    match pull_messages(svc, &req, deadline).await {
        Ok(out) => out,
        Err(f) => vec![response(Content::Status(f.status().unwrap_or_default()))],
    }
}

async fn pull_messages(
    svc: &Service,
    req: &pb::PullMessageRequest,
    deadline: Option<Duration>,
) -> Result<Vec<pb::PullMessageResponse>, Failure> {
    let ctx = &*svc.ctx;
    let group = name(req.group.as_ref())?;
    let (topic, q) = queue(svc, req.message_queue.as_ref())?;
    ctx.broker
        .check_consume(group, false)
        .map_err(|e| Failure::new(Code::Forbidden, e.to_string()))?;
    if req.batch_size < 1 || req.batch_size as u32 > MAX_POP_NUMS {
        return Err(Failure::bad(format!(
            "batch_size must be 1 to {MAX_POP_NUMS}"
        )));
    }
    let store = &ctx.broker.store;
    let (min, max) = (store.min_offset(topic, q), store.max_offset(topic, q));
    let illegal = |next: u64, why: &str| {
        vec![
            response(Content::Status(
                status(Code::IllegalOffset, format!("offset {} {why}", req.offset))
                    .unwrap_or_default(),
            )),
            response(Content::NextOffset(next as i64)),
        ]
    };
    let Ok(offset) = u64::try_from(req.offset) else {
        return Ok(illegal(min, "is negative"));
    };
    if offset < min {
        return Ok(illegal(min, "is below the queue's first offset"));
    }
    if offset > max {
        return Ok(illegal(max, "is past the queue's end"));
    }
    let filter = super::receive::filter(svc, group, topic, req.filter_expression.as_ref())?;
    let codes = filter.tag_codes();
    let keep = |code: i64| codes.is_none_or(|s| s.contains(&(code as i32)));
    let tags = codes.map(|_| &keep as &(dyn Fn(i64) -> bool + Sync));
    let wait = polling_time(req.long_polling_timeout.as_ref(), deadline)?;
    let deadline = Instant::now() + wait;
    let mut from = offset;
    let mut out = Vec::new();
    loop {
        let scan = read::scan(
            store,
            &ctx.broker.converted,
            (topic, q),
            from,
            req.batch_size as u32,
            // Cluster mode: up to the high watermark, as remoting pulls.
            ctx.broker.cluster.as_ref().map(|c| c.high_watermark()),
            tags.map(|f| f as &dyn Fn(i64) -> bool),
        );
        let advanced = scan.next > from;
        from = scan.next.max(from);
        for r in &scan.msgs {
            if filter.needs_properties() {
                let props = decode_message(&r.bytes)
                    .map(|(m, _)| m.properties)
                    .unwrap_or_default();
                if !filter.matches(0, &props) {
                    continue;
                }
            }
            // An undecodable record is skipped (ADR 007).
            if let Ok(m) = incoming(&r.bytes, None) {
                out.push(response(Content::Message(m)));
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if !out.is_empty() || left.is_zero() || ctx.broker.is_shutting_down() {
            break;
        }
        if from < store.max_offset(topic, q) {
            if advanced {
                continue; // everything looked at was filtered out; read on
            }
            // Unreadable here for now (the scan did not move): no busy loop.
            tokio::time::sleep(left.min(Duration::from_millis(50))).await;
            continue;
        }
        tokio::select! {
            _ = store.wait_for_data(topic, q, from, left) => {}
            () = ctx.broker.shutdown_signal() => break,
        }
    }
    let head = if out.is_empty() {
        status(Code::MessageNotFound, "no new message")
    } else {
        ok()
    };
    out.insert(0, response(Content::Status(head.unwrap_or_default())));
    out.push(response(Content::NextOffset(from as i64)));
    Ok(out)
}
