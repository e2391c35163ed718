//! Admin look-ups mqadmin needs: GET_TOPIC_STATS_INFO (202),
//! GET_CONSUME_STATS (208), GET_BROKER_RUNTIME_INFO (28) and
//! DELETE_TOPIC_IN_BROKER (215).
//!
//! The 202/208 bodies use fastjson's non-standard form with a `MessageQueue`
//! object as map key (captured from 4.9.7):
//! `{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{...},...}}`;
//! Java admin tools parse only that form, so it is written by hand here.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use rokka_protocols::remoting::body::MessageQueue;
use rokka_protocols::remoting::codes::ROKKA_VERSION;
use rokka_protocols::remoting::{RemotingCommand, ResponseCode};

use super::context::{map_store_error, now_ms, Ctx, HResult, HandlerError, Reply};
use super::header::req_str;
use super::reply::{ok, ok_json};

/// A `MessageQueue` of this broker as a fastjson map key.
pub(crate) fn mq_key(ctx: &Ctx, topic: &str, queue_id: u32) -> String {
    serde_json::to_string(&MessageQueue {
        broker_name: ctx.broker.config.broker_name.clone(),
        queue_id: queue_id as i32,
        topic: topic.to_owned(),
    })
    .unwrap_or_default()
}

/// A SUCCESS reply with a hand-written JSON body.
pub(crate) fn raw_body(cmd: &RemotingCommand, body: String) -> Reply {
    let mut resp = cmd.response_to(ResponseCode::SUCCESS.0);
    resp.body = body.into();
    Reply::new(resp)
}

/// The config of `topic`, or TOPIC_NOT_EXIST as upstream's admin look-ups say it.
pub(crate) fn existing_topic(
    ctx: &Ctx,
    topic: &str,
) -> Result<rokka_store::topics::TopicConfig, HandlerError> {
    ctx.broker.topic(topic).ok_or_else(|| {
        HandlerError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist"),
        )
    })
}

/// GET_TOPIC_STATS_INFO: min/max offset and last store time per queue.
pub(crate) fn topic_stats(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let topic = req_str(cmd, "topic")?;
    let t = existing_topic(ctx, topic)?;
    let store = &ctx.broker.store;
    let mut out = String::from("{\"offsetTable\":{");
    for q in 0..t.write_queue_nums {
        let (min, max) = (store.min_offset(topic, q), store.max_offset(topic, q));
        let last = max
            .checked_sub(1)
            .and_then(|o| store.store_time_at(topic, q, o))
            .unwrap_or(0);
        if q > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{}:{{\"lastUpdateTimestamp\":{last},\"maxOffset\":{max},\"minOffset\":{min}}}",
            mq_key(ctx, topic, q)
        );
    }
    out.push_str("}}");
    Ok(raw_body(cmd, out))
}

/// GET_CONSUME_STATS: broker and consumer offsets of a group per queue.
pub(crate) fn consume_stats(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let group = req_str(cmd, "consumerGroup")?;
    let only = cmd.ext("topic");
    let store = &ctx.broker.store;
    let committed = store.offsets().group_offsets(group);
    let topics: BTreeSet<String> = committed
        .iter()
        .map(|(t, _, _)| t.clone())
        .filter(|t| only.is_none_or(|o| o == t))
        .collect();
    let mut out = String::from("{\"consumeTps\":0.0,\"offsetTable\":{");
    let mut first = true;
    for topic in &topics {
        let Some(t) = ctx.broker.topic(topic) else {
            continue;
        };
        for q in 0..t.read_queue_nums {
            // Lag counts only what consumers can see: up to the LSO.
            let end = store.max_offset(topic, q) as i64;
            let broker_offset = ctx.broker.txns.lso(topic, q, end);
            let consumer_offset = committed
                .iter()
                .find(|(ct, cq, _)| ct == topic && *cq == q)
                .map_or(0, |(_, _, c)| c.offset);
            let last = u64::try_from(consumer_offset)
                .ok()
                .and_then(|o| o.checked_sub(1))
                .and_then(|o| store.store_time_at(topic, q, o))
                .unwrap_or(0);
            if !first {
                out.push(',');
            }
            first = false;
            let _ = write!(
                out,
                "{}:{{\"brokerOffset\":{broker_offset},\"consumerOffset\":{consumer_offset},\"lastTimestamp\":{last}}}",
                mq_key(ctx, topic, q)
            );
        }
    }
    out.push_str("}}");
    Ok(raw_body(cmd, out))
}

/// GET_BROKER_RUNTIME_INFO: the `table` keys mqadmin clusterList reads.
pub(crate) fn runtime_info(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let (min, max) = ctx.broker.store.commit_log_bounds();
    let zero_tps = "0.0 0.0 0.0";
    let table = serde_json::json!({
        "brokerVersion": ROKKA_VERSION.to_string(),
        "brokerVersionDesc": "V4_9_7",
        "bootTimestamp": now_ms().to_string(),
        "commitLogMinOffset": min.to_string(),
        "commitLogMaxOffset": max.to_string(),
        "msgPutTotalTodayNow": "0",
        "msgGetTotalTodayNow": "0",
        "msgPutTotalTodayMorning": "0",
        "msgGetTotalTodayMorning": "0",
        "msgPutTotalYesterdayMorning": "0",
        "msgGetTotalYesterdayMorning": "0",
        "putTps": zero_tps,
        "getTransferedTps": zero_tps,
        "getTotalTps": zero_tps,
        "getFoundTps": zero_tps,
        "getMissTps": zero_tps,
        "earliestMessageTimeStamp": "-1",
        "commitLogDiskRatio": "0.0",
        "pageCacheLockTimeMills": "0",
        "remainHowManyDataToFlush": "0 B",
        "dispatchBehindBytes": "0",
        "sendThreadPoolQueueSize": "0",
        "sendThreadPoolQueueCapacity": "10000",
        "pullThreadPoolQueueSize": "0",
        "pullThreadPoolQueueCapacity": "100000",
        "queryThreadPoolQueueSize": "0",
        "queryThreadPoolQueueCapacity": "20000",
    });
    ok_json(cmd, &serde_json::json!({ "table": table }))
}

/// DELETE_TOPIC_IN_BROKER: drops the topic config (its data ages out with
/// retention).
pub(crate) fn delete_topic(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let topic = req_str(cmd, "topic")?;
    ctx.broker
        .store
        .topics()
        .remove(topic)
        .map_err(|e| map_store_error(&e))?;
    Ok(ok(cmd, &[]))
}
