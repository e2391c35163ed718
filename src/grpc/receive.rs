//! ReceiveMessage on the broker's POP engine (ADR 020): pops up to
//! `batch_size` messages of the group from every queue of the topic, orderly when the group is FIFO, waiting up to the request's
//! long-polling timeout for some. The stream is the status, then the
//! messages (each with its receipt handle), then the delivery timestamp;
//! nothing found answers MESSAGE_NOT_FOUND, as upstream's proxy. TAG
//! filters are applied by the engine on the ConsumeQueue; SQL92 filters
//! (with `enablePropertyFilter=true`, ADR 018) on the popped messages.

use std::time::{Duration, Instant};

use super::handle::Receipt;
use super::message::{duration_ms, incoming, invisible_ms, timestamp};
use super::pb::{self, receive_message_response::Content, Code};
use super::service::Service;
use super::{name, ok, status, Failure};
use crate::broker::filter::MessageFilter;
use crate::broker::pop::revive::now_ms;
use crate::broker::pop::state::QueueKey;
use crate::broker::pop::{PopBatch, PopEngine, PopRequest, MAX_POP_NUMS};
use rokka_protocols::remoting::message::decode_message;

/// Longest wait of one ReceiveMessage.
const MAX_POLL: Duration = Duration::from_secs(30);
/// Invisible time when the request gives none.
const DEFAULT_INVISIBLE_MS: i64 = 30_000;

fn response(c: Content) -> pb::ReceiveMessageResponse {
    pb::ReceiveMessageResponse { content: Some(c) }
}

fn failed(f: &Failure) -> Vec<pb::ReceiveMessageResponse> {
    vec![response(Content::Status(
        status(f.0, f.1.clone()).unwrap_or_default(),
    ))]
}

/// ReceiveMessage: the whole response stream.
pub(crate) async fn receive(
    svc: &Service,
    req: pb::ReceiveMessageRequest,
) -> Vec<pb::ReceiveMessageResponse> {
    match pop(svc, &req).await {
        Ok(out) => out,
        Err(f) => failed(&f),
    }
}

async fn pop(
    svc: &Service,
    req: &pb::ReceiveMessageRequest,
) -> Result<Vec<pb::ReceiveMessageResponse>, Failure> {
    let ctx = &*svc.ctx;
    let group = name(req.group.as_ref())?;
    let mq = req
        .message_queue
        .as_ref()
        .ok_or_else(|| Failure::bad("message_queue is required"))?;
    let topic = name(mq.topic.as_ref())?;
    let engine = ctx.broker.pop.as_deref().ok_or_else(|| {
        Failure::new(
            Code::InternalServerError,
            "POP is unavailable on this broker: its journal could not be opened",
        )
    })?;
    let cfg = ctx
        .broker
        .check_consume(group, false)
        .map_err(|e| Failure::new(Code::Forbidden, e.to_string()))?;
    let t = ctx.broker.topic(topic).ok_or_else(|| {
        Failure::new(Code::TopicNotFound, format!("topic {topic} does not exist"))
    })?;
    // Like upstream's proxy, the queue only names the broker: a receive
    // pops from every readable queue of the topic (the SDKs pick queues of
    // the route round robin, and one empty queue must not hide the rest).
    let qs: Vec<u32> = (0..t.read_queue_nums).collect();
    if req.batch_size < 1 || req.batch_size as u32 > MAX_POP_NUMS {
        return Err(Failure::bad(format!(
            "batch_size must be 1 to {MAX_POP_NUMS}"
        )));
    }
    let invisible = invisible_ms(req.invisible_duration.as_ref(), DEFAULT_INVISIBLE_MS)?;
    let filter = match req.filter_expression.as_ref() {
        Some(f) if f.r#type == pb::FilterType::Sql as i32 => ctx
            .broker
            .filters
            .filter(
                ctx.broker.config.enable_property_filter,
                group,
                topic,
                rokka_protocols::sql92::EXPRESSION_TYPE,
                &f.expression,
            )
            .map_err(|e| {
                Failure::new(
                    Code::IllegalFilterExpression,
                    format!("the SQL92 expression cannot be used ({e:?}); SQL92 needs enablePropertyFilter=true"),
                )
            })?,
        Some(f) => crate::broker::filter::tag_filter(&f.expression),
        None => crate::broker::filter::tag_filter("*"),
    };
    let codes = filter.tag_codes();
    let keep = |code: i64| codes.is_none_or(|s| s.contains(&(code as i32)));
    let orderly = cfg.consume_message_orderly;
    let pr = PopRequest {
        group,
        topic,
        queue: None,
        read_queues: t.read_queue_nums,
        max: req.batch_size as u32,
        invisible,
        orderly,
        // A new group starts at the queue's minimum offset: upstream starts
        // at the maximum unless the queue's messages from 0 are still in
        // memory (initPopOffsetByCheckMsgInMem), which for the SDKs means
        // messages sent before the first receive are delivered.
        from_min: true,
        filter: codes.map(|_| &keep as &(dyn Fn(i64) -> bool + Sync)),
    };
    let io =
        |e: std::io::Error| Failure::new(Code::InternalServerError, format!("POP journal: {e}"));
    let pop = || -> Result<PopBatch, Failure> {
        let b = engine.pop(&pr, now_ms()).map_err(io)?;
        sift(engine, group, b, &filter).map_err(io)
    };
    let mut batch = pop()?;
    let wait = req
        .long_polling_timeout
        .as_ref()
        .map_or(Duration::ZERO, |d| {
            Duration::from_millis(duration_ms(d).max(0) as u64)
        })
        .min(MAX_POLL);
    let deadline = Instant::now() + wait;
    if batch.is_empty() && !wait.is_zero() {
        let _parked = engine.park(group, topic, -1);
        while batch.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || ctx.broker.is_shutting_down() {
                break;
            }
            tokio::select! {
                () = engine.wait(group, topic, &qs, left) => {}
                () = ctx.broker.shutdown_signal() => break,
            }
            batch = pop()?;
        }
    }
    Ok(stream(&batch))
}

/// A SQL92 filter is evaluated on the popped messages' properties: those
/// it rejects are acked at once and not delivered (as upstream's broker
/// does for POP), so the batch may be smaller than asked.
fn sift(
    engine: &PopEngine,
    group: &str,
    mut batch: PopBatch,
    filter: &MessageFilter,
) -> std::io::Result<PopBatch> {
    if !filter.needs_properties() {
        return Ok(batch);
    }
    for q in &mut batch.queues {
        let key = QueueKey::new(group, &q.topic, q.queue);
        let mut kept = Vec::with_capacity(q.msgs.len());
        for m in q.msgs.drain(..) {
            let props = decode_message(&m.2)
                .map(|(x, _)| x.properties)
                .unwrap_or_default();
            if filter.matches(0, &props) {
                kept.push(m);
            } else {
                engine.ack(&key, m.0, batch.pop_time)?;
            }
        }
        q.msgs = kept;
    }
    batch.queues.retain(|q| !q.msgs.is_empty());
    Ok(batch)
}

fn stream(batch: &PopBatch) -> Vec<pb::ReceiveMessageResponse> {
    if batch.is_empty() {
        return vec![response(Content::Status(
            status(Code::MessageNotFound, "no new message").unwrap_or_default(),
        ))];
    }
    let mut out = vec![response(Content::Status(ok().unwrap_or_default()))];
    for q in &batch.queues {
        for (offset, before, bytes) in &q.msgs {
            let receipt = Receipt {
                pop_time: batch.pop_time,
                invisible: batch.invisible,
                queue: q.queue,
                offset: *offset,
                topic: q.topic.clone(),
            };
            // A record that cannot be decoded is skipped (ADR 007); it is
            // revived later like any unacknowledged delivery.
            if let Ok(m) = incoming(bytes, Some((&receipt, *before))) {
                out.push(response(Content::Message(m)));
            }
        }
    }
    out.push(response(Content::DeliveryTimestamp(timestamp(
        batch.pop_time,
    ))));
    out
}
