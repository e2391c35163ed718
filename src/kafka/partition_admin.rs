//! Replica administration on a single node: ListPartitionReassignments (v0)
//! is always empty; ElectLeaders (v0–2) answers ELECTION_NOT_NEEDED for
//! each existing partition (its only replica already leads it, as Kafka
//! says of a preferred leader in place); AlterPartitionReassignments (v0)
//! refuses every partition with INVALID_REPLICA_ASSIGNMENT and a message
//! saying why.

use rokka_protocols::kafka::alter_partition_reassignments::{
    self as apr, AlterPartitionReassignmentsRequest,
};
use rokka_protocols::kafka::elect_leaders::{self, ElectLeadersRequest, ElectionResults};
use rokka_protocols::kafka::list_partition_reassignments::{
    self as lpr, ListPartitionReassignmentsRequest,
};
use rokka_protocols::kafka::{error_code, Writer};

use super::request::{CloseReason, Request};
use super::KafkaContext;

/// Handles ListPartitionReassignments v0.
pub fn list_reassignments(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    ListPartitionReassignmentsRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let _ = ctx; // nothing is ever moving
    let mut w = req.writer();
    lpr::encode_response(&mut w, req.version(), error_code::NONE);
    Ok(w)
}

/// Handles ElectLeaders v0–2.
pub fn elect_leaders(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let e = ElectLeadersRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    // All partitions (null): Kafka lists only partitions where an election
    // happened, so none here.
    let results: ElectionResults = e
        .topic_partitions
        .unwrap_or_default()
        .into_iter()
        .map(|t| {
            let n = ctx.broker.partitions(&t.name);
            let parts = t
                .partitions
                .iter()
                .map(|&p| match u32::try_from(p) {
                    Ok(q) if q < n => (
                        p,
                        error_code::ELECTION_NOT_NEEDED,
                        "Leader election not needed: rokka has one replica per partition".into(),
                    ),
                    _ => (
                        p,
                        error_code::UNKNOWN_TOPIC_OR_PARTITION,
                        "The partition does not exist.".into(),
                    ),
                })
                .collect();
            (t.name, parts)
        })
        .collect();
    let mut w = req.writer();
    elect_leaders::encode_response(&mut w, req.version(), &results);
    Ok(w)
}

/// Handles AlterPartitionReassignments v0.
pub fn alter_reassignments(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let a = AlterPartitionReassignmentsRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let _ = ctx; // nothing can move
    let mut w = req.writer();
    apr::encode_response(
        &mut w,
        req.version(),
        &a.topics,
        error_code::INVALID_REPLICA_ASSIGNMENT,
        "rokka is a single node: partitions cannot be moved",
    );
    Ok(w)
}
