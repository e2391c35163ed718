//! DeleteGroups handler (v0–2): a group with no live member of either
//! protocol is removed with its committed offsets; a group with members
//! gets NON_EMPTY_GROUP and an unknown one GROUP_ID_NOT_FOUND, as Kafka.

use rokka_protocols::kafka::delete_groups::{self, DeleteGroupsRequest};
use rokka_protocols::kafka::{error_code, Writer};
use tracing::info;

use super::request::{CloseReason, Request};
use super::KafkaContext;
use crate::security::acl::op;

/// Whether `group` has live members (Kafka or RocketMQ), and whether rokka
/// knows it at all (members or committed offsets).
pub fn group_status(ctx: &KafkaContext, group: &str) -> (bool, bool) {
    let kafka_members = ctx.groups.state(group).is_some_and(|(_, _, n)| n > 0);
    let live = kafka_members || ctx.broker.groups.owner(group).is_some();
    let known = live
        || ctx.groups.state(group).is_some()
        || !ctx.broker.store.offsets().group_offsets(group).is_empty();
    (live, known)
}

/// Handles DeleteGroups v0–2.
pub fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let d = DeleteGroupsRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let results: Vec<(String, i16)> = d
        .groups
        .into_iter()
        .map(|g| {
            let denied = super::acls::group_refusal(ctx, req, op::DELETE, &g);
            let code = match group_status(ctx, &g) {
                _ if denied.is_some() => denied.unwrap_or_default(),
                _ if g.is_empty() => error_code::INVALID_GROUP_ID,
                (true, _) => error_code::NON_EMPTY_GROUP,
                (false, false) => error_code::GROUP_ID_NOT_FOUND,
                (false, true) => {
                    ctx.broker.store.offsets().delete(&g, None);
                    info!(group = %g, "deleted group and its offsets");
                    error_code::NONE
                }
            };
            (g, code)
        })
        .collect();
    let mut w = req.writer();
    delete_groups::encode_response(&mut w, req.version(), &results);
    Ok(w)
}
