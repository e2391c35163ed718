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
use crate::broker::pop::sift::sift;
use crate::broker::pop::{PopBatch, PopRequest, MAX_POP_NUMS};

/// Longest wait of one ReceiveMessage or PullMessage.
const MAX_POLL: Duration = Duration::from_secs(30);
/// What a long poll leaves of the caller's deadline for the answer to
/// travel (upstream proxy's `longPollingReserveTimeInMillis`).
const POLL_RESERVE: Duration = Duration::from_millis(100);
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
    deadline: Option<Duration>,
) -> Vec<pb::ReceiveMessageResponse> {
    match pop(svc, &req, deadline).await {
        Ok(out) => out,
        Err(f) => failed(&f),
    }
}

async fn pop(
    svc: &Service,
    req: &pb::ReceiveMessageRequest,
    deadline: Option<Duration>,
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
    super::groups::check_held(svc, topic)?;
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
    let filter = filter(svc, group, topic, req.filter_expression.as_ref())?;
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
        // Where a new group starts: see `start_new_group`.
        from_min: true,
        filter: codes.map(|_| &keep as &(dyn Fn(i64) -> bool + Sync)),
    };
    start_new_group(ctx, group, topic, t.read_queue_nums);
    let io =
        |e: std::io::Error| Failure::new(Code::InternalServerError, format!("POP journal: {e}"));
    let pop = || -> Result<PopBatch, Failure> {
        let b = engine.pop(&pr, now_ms()).map_err(io)?;
        sift(engine, group, b, &filter).map_err(io)
    };
    let mut batch = pop()?;
    let wait = polling_time(req.long_polling_timeout.as_ref(), deadline)?;
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

/// How long a receive or pull may wait for messages: the request's
/// long-polling timeout (at most 30 s), cut to end 100 ms before the
/// caller's gRPC deadline (`grpc-timeout`) so the answer arrives in time,
/// as upstream's proxy does; a deadline shorter than that reserve is
/// ILLEGAL_POLLING_TIME.
pub(crate) fn polling_time(
    asked: Option<&prost_types::Duration>,
    deadline: Option<Duration>,
) -> Result<Duration, Failure> {
    let wait = asked
        .map_or(Duration::ZERO, |d| {
            Duration::from_millis(duration_ms(d).max(0) as u64)
        })
        .min(MAX_POLL);
    match deadline {
        Some(left) if !wait.is_zero() && wait + POLL_RESERVE > left => {
            if left < POLL_RESERVE {
                return Err(Failure::new(
                    Code::IllegalPollingTime,
                    "the deadline time remaining is not enough for polling",
                ));
            }
            Ok(left - POLL_RESERVE)
        }
        _ => Ok(wait),
    }
}

/// The caller's deadline from the `grpc-timeout` header ("<digits><unit>",
/// unit H, M, S, m, u or n), if it sent a valid one.
pub(crate) fn grpc_timeout(meta: &tonic::metadata::MetadataMap) -> Option<Duration> {
    let v = meta.get("grpc-timeout")?.to_str().ok()?;
    let split = v.len().checked_sub(1)?;
    let (digits, unit) = v.split_at(split);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Where a group that never consumed a queue starts, as upstream's proxy
/// (POP with ConsumeInitMode.MAX): at 0 while the queue was never
/// truncated (upstream: and its first message is still in the page cache,
/// `initPopOffsetByCheckMsgInMem`; rokka's store is memory-mapped, so it
/// counts as in memory), else at the queue's last message (end - 1), which
/// is committed for the group. The POP engine starts a queue it has no
/// state for at the committed offset (and commits its position on the
/// first pop), so a queue with no committed offset was never popped.
fn start_new_group(ctx: &crate::remoting::context::Ctx, group: &str, topic: &str, queues: u32) {
    let store = &ctx.broker.store;
    for q in 0..queues {
        let min = store.min_offset(topic, q);
        if min == 0 || store.offsets().fetch(group, topic, q).is_some() {
            continue;
        }
        let start = store.max_offset(topic, q).saturating_sub(1).max(min);
        store.offsets().commit(group, topic, q, start as i64, "");
    }
}

/// The request's filter: TAG (default everything) or SQL92 (needs
/// `enablePropertyFilter=true`).
pub(crate) fn filter(
    svc: &Service,
    group: &str,
    topic: &str,
    f: Option<&pb::FilterExpression>,
) -> Result<MessageFilter, Failure> {
    let broker = &svc.ctx.broker;
    match f {
        Some(f) if f.r#type == pb::FilterType::Sql as i32 => broker
            .filters
            .filter(
                broker.config.enable_property_filter,
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
            }),
        Some(f) => Ok(crate::broker::filter::tag_filter(&f.expression)),
        None => Ok(crate::broker::filter::tag_filter("*")),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_polls_end_before_the_callers_deadline() {
        let meta = |v: &str| {
            let mut m = tonic::metadata::MetadataMap::new();
            m.insert("grpc-timeout", v.parse().unwrap());
            m
        };
        assert_eq!(grpc_timeout(&meta("2000m")), Some(Duration::from_secs(2)));
        assert_eq!(grpc_timeout(&meta("3S")), Some(Duration::from_secs(3)));
        assert_eq!(grpc_timeout(&meta("1H")), Some(Duration::from_secs(3600)));
        for bad in ["", "m", "12", "123456789m", "-1m", "5x"] {
            assert_eq!(grpc_timeout(&meta(bad)), None, "{bad}");
        }
        let asked = prost_types::Duration {
            seconds: 2,
            nanos: 0,
        };
        let two = Duration::from_secs(2);
        assert_eq!(polling_time(Some(&asked), None).unwrap(), two);
        assert_eq!(
            polling_time(Some(&asked), Some(two)).unwrap(),
            Duration::from_millis(1900)
        );
        assert_eq!(
            polling_time(Some(&asked), Some(Duration::from_secs(10))).unwrap(),
            two
        );
        let long = prost_types::Duration {
            seconds: 300,
            nanos: 0,
        };
        assert_eq!(polling_time(Some(&long), None).unwrap(), MAX_POLL);
        let err = polling_time(Some(&asked), Some(Duration::from_millis(50))).unwrap_err();
        assert_eq!(err.0, Code::IllegalPollingTime);
        assert_eq!(
            polling_time(None, Some(Duration::from_millis(50))).unwrap(),
            Duration::ZERO
        );
    }
}
