//! JoinGroup / SyncGroup / Heartbeat / LeaveGroup / ListGroups /
//! DescribeGroups handlers over the
//! [`GroupCoordinator`](super::GroupCoordinator).

use std::time::Duration;

use rokka_protocols::kafka::describe_groups::{self, DescribeGroupsRequest, DescribedGroup};
use rokka_protocols::kafka::error_code;
use rokka_protocols::kafka::groups::heartbeat::{self, HeartbeatRequest};
use rokka_protocols::kafka::groups::join_group::{JoinGroupRequest, JoinGroupResponse};
use rokka_protocols::kafka::groups::leave_group::{self, LeaveGroupRequest};
use rokka_protocols::kafka::groups::sync_group::{SyncGroupRequest, SyncGroupResponse};
use rokka_protocols::kafka::list_groups::{self, ListGroupsRequest, ListedGroup};
use rokka_protocols::kafka::Writer;

use super::Outcome;
use crate::broker::groups::Protocol;
use crate::kafka::request::{CloseReason, Request};
use crate::kafka::{acls, KafkaContext};
use crate::security::acl::op;

/// Upper bound on a parked JoinGroup/SyncGroup, whatever the client asked.
const MAX_PARK: Duration = Duration::from_secs(330);

async fn settle<T>(o: Outcome<T>, timeout: Duration, lost: impl FnOnce() -> T) -> T {
    match o {
        Outcome::Now(t) => t,
        Outcome::Wait(rx) => match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(t)) => t,
            _ => lost(),
        },
    }
}

/// Handles JoinGroup v0–9.
pub async fn join(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let j =
        JoinGroupRequest::decode(&mut req.reader(), req.version()).map_err(|e| req.bad_body(e))?;
    let member_id = j.member_id.clone();
    if let Some(error_code) = acls::group_refusal(ctx, req, op::READ, &j.group_id)
        .or_else(|| crate::kafka::replication::coordinator_refusal(ctx, &j.group_id))
    {
        let mut w = req.writer();
        JoinGroupResponse {
            error_code,
            generation_id: -1,
            member_id,
            ..JoinGroupResponse::default()
        }
        .encode(&mut w, req.version());
        return Ok(w);
    }
    let park = Duration::from_millis(j.rebalance_timeout_ms.max(0) as u64 + 5000).min(MAX_PARK);
    let client_id = req.header.client_id.clone().unwrap_or_default();
    let host = req.conn.peer.ip().to_string();
    let outcome = ctx
        .groups
        .join(j, req.version(), &client_id, &format!("/{host}"));
    let resp = settle(outcome, park, || JoinGroupResponse {
        error_code: error_code::UNKNOWN_MEMBER_ID,
        generation_id: -1,
        member_id,
        ..JoinGroupResponse::default()
    })
    .await;
    let mut w = req.writer();
    resp.encode(&mut w, req.version());
    Ok(w)
}

/// Handles SyncGroup v0–5.
pub async fn sync(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let s =
        SyncGroupRequest::decode(&mut req.reader(), req.version()).map_err(|e| req.bad_body(e))?;
    if let Some(error_code) = acls::group_refusal(ctx, req, op::READ, &s.group_id)
        .or_else(|| crate::kafka::replication::coordinator_refusal(ctx, &s.group_id))
    {
        let mut w = req.writer();
        SyncGroupResponse {
            error_code,
            ..SyncGroupResponse::default()
        }
        .encode(&mut w, req.version());
        return Ok(w);
    }
    let outcome = ctx
        .groups
        .sync(&s.group_id, s.generation_id, &s.member_id, s.assignments);
    let mut resp = settle(outcome, MAX_PARK, || SyncGroupResponse {
        error_code: error_code::REBALANCE_IN_PROGRESS,
        ..SyncGroupResponse::default()
    })
    .await;
    // The stable group is recorded in `__consumer_offsets`; as in Kafka the
    // members get their assignments once that record is replicated, so a
    // coordinator elected next knows them (ADR 015).
    if resp.error_code == error_code::NONE
        && !crate::kafka::replication::offsets_replicated(ctx).await
    {
        resp = SyncGroupResponse {
            error_code: error_code::COORDINATOR_NOT_AVAILABLE,
            ..SyncGroupResponse::default()
        };
    }
    let mut w = req.writer();
    resp.encode(&mut w, req.version());
    Ok(w)
}

/// Handles Heartbeat v0–4.
pub fn heartbeat(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let h =
        HeartbeatRequest::decode(&mut req.reader(), req.version()).map_err(|e| req.bad_body(e))?;
    let code = match acls::group_refusal(ctx, req, op::READ, &h.group_id)
        .or_else(|| crate::kafka::replication::coordinator_refusal(ctx, &h.group_id))
    {
        Some(code) => code,
        None => ctx
            .groups
            .heartbeat(&h.group_id, h.generation_id, &h.member_id),
    };
    let mut w = req.writer();
    heartbeat::encode_response(&mut w, req.version(), code);
    Ok(w)
}

/// Handles LeaveGroup v0–5.
pub fn leave(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let l =
        LeaveGroupRequest::decode(&mut req.reader(), req.version()).map_err(|e| req.bad_body(e))?;
    if let Some(code) = acls::group_refusal(ctx, req, op::READ, &l.group_id)
        .or_else(|| crate::kafka::replication::coordinator_refusal(ctx, &l.group_id))
    {
        let mut w = req.writer();
        leave_group::encode_response(&mut w, req.version(), code, &[]);
        return Ok(w);
    }
    let members = ctx.groups.leave(&l.group_id, &l.member_ids);
    // v0–2 report the single member's result at the top level.
    let top = if req.version() < 3 {
        members.first().map_or(error_code::NONE, |(_, c)| *c)
    } else {
        error_code::NONE
    };
    let mut w = req.writer();
    leave_group::encode_response(&mut w, req.version(), top, &members);
    Ok(w)
}

/// How Kafka tools see a group the Kafka coordinator does not hold: one with
/// live RocketMQ consumers (ADR 006) is Stable with protocol type
/// "consumer" (so `kafka-consumer-groups --list` shows it and offset resets
/// wait for it to be inactive); one with committed offsets only is Empty
/// with no protocol type; anything else is Dead.
fn outside_kafka(
    ctx: &KafkaContext,
    group: &str,
    has_offsets: bool,
) -> Option<(&'static str, &'static str)> {
    match ctx.broker.groups.owner(group) {
        Some((Protocol::Remoting, _)) => Some(("Stable", "consumer")),
        _ if has_offsets => Some(("Empty", "")),
        _ => None,
    }
}

/// Handles ListGroups v0–4: live groups plus groups that only have
/// committed offsets (Empty) or live RocketMQ consumers (Stable).
pub fn list(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let l =
        ListGroupsRequest::decode(&mut req.reader(), req.version()).map_err(|e| req.bad_body(e))?;
    let mut groups = ctx.groups.list();
    let with_offsets = crate::broker::consumer_groups(&ctx.broker.store);
    let live = ctx.broker.groups.snapshot().into_iter().map(|m| m.group);
    let mut others: Vec<String> = with_offsets.iter().cloned().chain(live).collect();
    others.sort();
    others.dedup();
    for g in others {
        if groups.iter().any(|x| x.group_id == g) {
            continue;
        }
        if let Some((state, protocol_type)) = outside_kafka(ctx, &g, with_offsets.contains(&g)) {
            groups.push(ListedGroup {
                group_id: g,
                protocol_type: protocol_type.to_string(),
                group_state: state.to_string(),
            });
        }
    }
    if !l.types_filter.is_empty()
        && !l
            .types_filter
            .iter()
            .any(|t| t.eq_ignore_ascii_case(list_groups::GROUP_TYPE_CLASSIC))
    {
        groups.clear();
    }
    if !l.states_filter.is_empty() {
        groups.retain(|g| {
            l.states_filter
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&g.group_state))
        });
    }
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    let mut w = req.writer();
    list_groups::encode_response(&mut w, req.version(), &groups);
    Ok(w)
}

/// Handles DescribeGroups v0–5; a group no Kafka member has joined is
/// described by [`outside_kafka`] (no members listed) or as Dead.
pub fn describe(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let d = DescribeGroupsRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let known = crate::broker::consumer_groups(&ctx.broker.store);
    let groups: Vec<DescribedGroup> = d
        .groups
        .iter()
        .map(|id| {
            ctx.groups.describe(id).unwrap_or_else(|| {
                let (state, protocol_type) =
                    outside_kafka(ctx, id, known.contains(id)).unwrap_or(("Dead", ""));
                DescribedGroup {
                    error_code: if id.is_empty() {
                        error_code::INVALID_GROUP_ID
                    } else {
                        error_code::NONE
                    },
                    group_id: id.clone(),
                    group_state: state.to_string(),
                    protocol_type: protocol_type.to_string(),
                    protocol_data: String::new(),
                    members: Vec::new(),
                }
            })
        })
        .collect();
    let mut w = req.writer();
    let ops = if d.include_authorized_operations {
        describe_groups::GROUP_OPERATIONS_ALL
    } else {
        i32::MIN
    };
    describe_groups::encode_response_with_ops(&mut w, req.version(), &groups, ops);
    Ok(w)
}
