//! DescribeProducers handler (v0): the idempotent producers the sequence
//! table (`idempotence.rs`) knows for each partition asked about.

use rokka_protocols::kafka::describe_producers::{
    self, DescribeProducersRequest, ProducerState, ProducersPartition,
};
use rokka_protocols::kafka::{error_code, Writer};

use super::request::{CloseReason, Request};
use super::KafkaContext;

/// Handles DescribeProducers v0.
pub fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let d = DescribeProducersRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let topics: Vec<(String, Vec<ProducersPartition>)> = d
        .topics
        .into_iter()
        .map(|t| {
            let layout = super::replication::layout(ctx, &t.name);
            let parts = t
                .partitions
                .iter()
                .map(|&p| match super::replication::queue_of(&layout, p) {
                    Ok(q) => ProducersPartition {
                        partition_index: p,
                        error_code: error_code::NONE,
                        producers: ctx
                            .sequences
                            .producers(&t.name, q)
                            .into_iter()
                            .map(|(pid, epoch, seq, _)| ProducerState {
                                producer_id: pid,
                                producer_epoch: i32::from(epoch),
                                last_sequence: seq,
                                last_timestamp: -1,
                            })
                            .collect(),
                    },
                    Err(code) => ProducersPartition {
                        partition_index: p,
                        error_code: code,
                        producers: Vec::new(),
                    },
                })
                .collect();
            (t.name, parts)
        })
        .collect();
    let mut w = req.writer();
    describe_producers::encode_response(&mut w, req.version(), &topics);
    Ok(w)
}
