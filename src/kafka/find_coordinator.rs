//! FindCoordinator handler: this broker coordinates every group (key type
//! 0) and every transactional id (key type 1); in cluster mode the master
//! of the broker group that owns the key's `__consumer_offsets` partition
//! does (Kafka's rule; ADR 024).

use rokka_protocols::kafka::error_code;
use rokka_protocols::kafka::find_coordinator::{
    Coordinator, FindCoordinatorRequest, FindCoordinatorResponse,
};
use rokka_protocols::kafka::Writer;

use super::metadata::advertised;
use super::request::{CloseReason, Request};
use super::KafkaContext;
use crate::security::acl::op;

/// The coordinator of `key`: this node, or in cluster mode the master of
/// the broker group owning the key's `__consumer_offsets` partition (its
/// offsets and group live there; ADR 015, ADR 024).
fn coordinator(ctx: &KafkaContext, req: &Request<'_>, key: &str) -> (i32, String, i32, bool) {
    if let Some(c) = &ctx.broker.cluster {
        let view = c.view();
        let group = c.coordinator_group(super::replication::offsets_partition(ctx, key));
        return match group
            .and_then(|g| view.master_of(&g))
            .and_then(|(m, _)| view.state.nodes.get(&m))
            .and_then(super::metadata::endpoint)
        {
            Some(b) => (b.node_id, b.host, b.port, true),
            None => (-1, String::new(), -1, false),
        };
    }
    let (host, port) = advertised(ctx, req.conn);
    (ctx.node_id(), host, port, true)
}

/// Describe on the group (key type 0) or the transactional id (1).
fn refusal(ctx: &KafkaContext, req: &Request<'_>, key_type: i8, key: &str) -> Option<i16> {
    match key_type {
        0 => super::acls::group_refusal(ctx, req, op::DESCRIBE, key),
        1 => super::acls::txn_refusal(ctx, req, op::DESCRIBE, key),
        _ => None,
    }
}

/// Handles FindCoordinator v0–6.
pub fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let f = FindCoordinatorRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let coordinators = f
        .keys
        .into_iter()
        .map(|key| (coordinator(ctx, req, &key), key))
        .map(|((node_id, host, port, available), key)| Coordinator {
            error_code: if key.is_empty() {
                error_code::INVALID_GROUP_ID
            } else if let Some(code) = refusal(ctx, req, f.key_type, &key) {
                code
            } else if !matches!(f.key_type, 0 | 1) {
                error_code::INVALID_REQUEST
            } else if !available {
                // In cluster mode: no master yet.
                error_code::COORDINATOR_NOT_AVAILABLE
            } else {
                error_code::NONE
            },
            key,
            node_id,
            host,
            port,
        })
        .collect();
    let mut w = req.writer();
    FindCoordinatorResponse { coordinators }.encode(&mut w, req.version());
    Ok(w)
}
