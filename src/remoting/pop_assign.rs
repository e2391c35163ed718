//! QUERY_ASSIGNMENT (400) and SET_MESSAGE_REQUEST_MODE (401): broker-side
//! rebalancing for 5.x consumers that do not rebalance themselves
//! (`clientRebalance=false`). A (topic, group) set to POP (`mqadmin
//! setConsumeMode -m POP`) is assigned queue id -1, "every queue", in POP
//! mode, so the consumer pops; otherwise the group's live consumers share
//! the queues averagely (upstream's default strategy) in PULL mode. Retry
//! topics are always PULL, as upstream.

use rokka_protocols::remoting::body::MessageQueue;
use rokka_protocols::remoting::pop::{
    QueryAssignmentRequest, QueryAssignmentResponse, QueueAssignment, SetRequestMode,
};
use rokka_protocols::remoting::{RemotingCommand, ResponseCode};

use super::context::{Ctx, HResult, HandlerError};
use super::pop::{bad, engine, io_error};
use super::reply::{ok, ok_json};
use crate::broker::pop::modes::RequestMode;

/// Queue indexes of `mqs` queues that consumer `index` of `cids` gets
/// (upstream `AllocateMessageQueueAveragely`).
pub(crate) fn averagely(mqs: usize, cids: usize, index: usize) -> std::ops::Range<usize> {
    if cids == 0 || index >= cids || mqs == 0 {
        return 0..0;
    }
    let rem = mqs % cids;
    let size = if mqs <= cids {
        1
    } else if rem > 0 && index < rem {
        mqs / cids + 1
    } else {
        mqs / cids
    };
    let start = if rem > 0 && index < rem {
        index * size
    } else {
        index * size + rem
    };
    let len = size.min(mqs.saturating_sub(start));
    start..start + len
}

/// QUERY_ASSIGNMENT.
pub(crate) fn query_assignment(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let r: QueryAssignmentRequest = serde_json::from_slice(&cmd.body).map_err(bad)?;
    let broker = ctx.broker.config.broker_name.clone();
    let mut out = QueryAssignmentResponse::default();
    let Some(t) = ctx.broker.topic(&r.topic) else {
        return ok_json(cmd, &out);
    };
    let mode = engine(ctx)
        .ok()
        .and_then(|e| e.modes.get(&r.topic, &r.consumer_group))
        .filter(|_| !r.topic.starts_with("%RETRY%"))
        .map_or_else(|| "PULL".to_owned(), |m| m.mode);
    let mq = |queue_id: i32| MessageQueue {
        broker_name: broker.clone(),
        queue_id,
        topic: r.topic.clone(),
    };
    let all: Vec<i32> = (0..t.read_queue_nums as i32).collect();
    let mine: Vec<i32> = if r.message_model.as_deref() == Some("BROADCASTING") {
        all
    } else if mode == "POP" {
        vec![-1]
    } else {
        let mut cids: Vec<String> = ctx
            .clients
            .consumer_channels(&r.consumer_group)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        cids.sort();
        cids.dedup();
        match cids.iter().position(|c| *c == r.client_id) {
            Some(i) => all[averagely(all.len(), cids.len(), i)].to_vec(),
            None => Vec::new(),
        }
    };
    out.message_queue_assignments = mine
        .into_iter()
        .map(|q| QueueAssignment {
            message_queue: mq(q),
            mode: mode.clone(),
            attachments: None,
        })
        .collect();
    ok_json(cmd, &out)
}

/// SET_MESSAGE_REQUEST_MODE.
pub(crate) fn set_request_mode(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let r: SetRequestMode = serde_json::from_slice(&cmd.body).map_err(bad)?;
    if r.topic.starts_with("%RETRY%") {
        return Err(HandlerError::new(
            ResponseCode::NO_PERMISSION,
            "retry topic is not allowed to set mode",
        ));
    }
    if !matches!(r.mode.as_str(), "PULL" | "POP") {
        return Err(bad(format!("unknown mode {:?}", r.mode)));
    }
    engine(ctx)?
        .modes
        .set(RequestMode {
            topic: r.topic,
            consumer_group: r.consumer_group,
            mode: r.mode,
            pop_share_queue_num: r.pop_share_queue_num,
        })
        .map_err(io_error)?;
    Ok(ok(cmd, &[]))
}

#[cfg(test)]
mod tests {
    use super::averagely;

    #[test]
    fn average_allocation_as_upstream() {
        // 5 queues, 2 consumers: 3 + 2; 2 queues, 3 consumers: 1, 1, 0.
        assert_eq!(averagely(5, 2, 0), 0..3);
        assert_eq!(averagely(5, 2, 1), 3..5);
        assert_eq!(averagely(2, 3, 0), 0..1);
        assert_eq!(averagely(2, 3, 1), 1..2);
        assert!(averagely(2, 3, 2).is_empty());
        assert_eq!(averagely(4, 0, 0), 0..0);
    }
}
