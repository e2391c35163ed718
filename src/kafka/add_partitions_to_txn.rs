//! AddPartitionsToTxn handler (v0–3): unknown partitions get
//! UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, as
//! Kafka answers; otherwise the coordinator's answer applies to all.

use rokka_protocols::kafka::add_partitions_to_txn::{encode_response, AddPartitionsToTxnRequest};
use rokka_protocols::kafka::{error_code, TopicErrors, Writer};

use super::request::{CloseReason, Request};
use super::txn::fenced;
use super::KafkaContext;
use crate::security::acl::op;

/// Handles AddPartitionsToTxn v0–3.
pub async fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let a = AddPartitionsToTxnRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let mut known = Vec::new();
    let mut unknown = false;
    let txn_denied = super::acls::txn_refusal(ctx, req, op::WRITE, &a.transactional_id);
    // Write on each topic (29; the others OPERATION_NOT_ATTEMPTED), once the
    // transactional id is allowed.
    let denied: Vec<String> = a
        .topics
        .iter()
        .filter(|t| {
            txn_denied.is_none()
                && super::acls::topic_refusal(ctx, req, op::WRITE, &t.name).is_some()
        })
        .map(|t| t.name.clone())
        .collect();
    for t in &a.topics {
        // The transaction's partitions are this group's queues (ADR 024: a
        // partition of a range on another group is not known here).
        let layout = super::replication::layout(ctx, &t.name);
        for p in &t.partitions {
            match super::replication::queue_of(&layout, *p) {
                Ok(q) => known.push((t.name.clone(), q)),
                Err(_) => unknown = true,
            }
        }
    }
    let code = if let Some(code) = txn_denied {
        code
    } else if a.transactional_id.is_empty() {
        error_code::INVALID_REQUEST
    } else if unknown || !denied.is_empty() {
        error_code::OPERATION_NOT_ATTEMPTED
    } else {
        let fenced = fenced(req.version(), 2);
        match ctx
            .txn
            .add(
                &a.transactional_id,
                a.producer_id,
                a.producer_epoch,
                &known,
                None,
                fenced,
            )
            .await
        {
            Ok(()) => error_code::NONE,
            Err(c) => c,
        }
    };
    let results: TopicErrors = a
        .topics
        .iter()
        .map(|t| {
            let layout = super::replication::layout(ctx, &t.name);
            let parts = t
                .partitions
                .iter()
                .map(|p| {
                    let ok = super::replication::queue_of(&layout, *p).is_ok();
                    let c = if denied.contains(&t.name) {
                        error_code::TOPIC_AUTHORIZATION_FAILED
                    } else if unknown && !ok {
                        error_code::UNKNOWN_TOPIC_OR_PARTITION
                    } else {
                        code
                    };
                    (*p, c)
                })
                .collect();
            (t.name.clone(), parts)
        })
        .collect();
    let mut w = req.writer();
    encode_response(&mut w, req.version(), &results);
    Ok(w)
}
