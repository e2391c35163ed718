//! DescribeProducers (key 61), version 0 (flexible).
//!
//! ```text
//! request  topics [name str, partition_indexes [i32], tags], tags
//! response throttle_time_ms i32,
//!          topics [name str, partitions [partition_index i32, error_code i16,
//!                  error_message nstr, active_producers [producer_id i64,
//!                  producer_epoch i32, last_sequence i32, last_timestamp i64,
//!                  coordinator_epoch i32, current_txn_start_offset i64, tags], tags], tags], tags
//! ```

use super::{DecodeError, Reader, TopicPartitions, Writer};

/// A DescribeProducers request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeProducersRequest {
    /// Partitions asked about.
    pub topics: Vec<TopicPartitions>,
}

impl DescribeProducersRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        let topics = r.array("topics", TopicPartitions::read)?;
        r.tags()?;
        Ok(DescribeProducersRequest { topics })
    }

    /// Encodes the body of `version`.
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        w.array(&self.topics, |w, t| t.write(w));
        w.tags();
    }
}

/// One idempotent producer's state on a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerState {
    /// Producer id.
    pub producer_id: i64,
    /// Epoch.
    pub producer_epoch: i32,
    /// Last sequence written.
    pub last_sequence: i32,
    /// Last write time, ms (-1 unknown).
    pub last_timestamp: i64,
}

/// One partition's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducersPartition {
    /// Partition.
    pub partition_index: i32,
    /// Error code.
    pub error_code: i16,
    /// Producers.
    pub producers: Vec<ProducerState>,
}

/// Encodes a DescribeProducers response: (topic, partitions).
pub fn encode_response(
    w: &mut Writer,
    _version: i16,
    topics: &[(String, Vec<ProducersPartition>)],
) {
    w.i32(0);
    w.array(topics, |w, (name, parts)| {
        w.str(name);
        w.array(parts, |w, p| {
            w.i32(p.partition_index);
            w.i16(p.error_code);
            w.nstr(None);
            w.array(&p.producers, |w, s| {
                w.i64(s.producer_id);
                w.i32(s.producer_epoch);
                w.i32(s.last_sequence);
                w.i64(s.last_timestamp);
                w.i32(-1);
                w.i64(-1);
                w.tags();
            });
            w.tags();
        });
        w.tags();
    });
    w.tags();
}

/// Decodes a DescribeProducers response (the inverse of [`encode_response`]).
pub fn decode_response(
    r: &mut Reader<'_>,
    _version: i16,
) -> Result<Vec<(String, Vec<ProducersPartition>)>, DecodeError> {
    r.i32("throttle_time_ms")?;
    let topics = r.array("topics", |r| {
        let name = r.str("name")?;
        let parts = r.array("partitions", |r| {
            let partition_index = r.i32("partition_index")?;
            let error_code = r.i16("error_code")?;
            r.nstr("error_message")?;
            let producers = r.array("active_producers", |r| {
                let s = ProducerState {
                    producer_id: r.i64("producer_id")?,
                    producer_epoch: r.i32("producer_epoch")?,
                    last_sequence: r.i32("last_sequence")?,
                    last_timestamp: r.i64("last_timestamp")?,
                };
                r.i32("coordinator_epoch")?;
                r.i64("current_txn_start_offset")?;
                r.tags()?;
                Ok(s)
            })?;
            r.tags()?;
            Ok(ProducersPartition {
                partition_index,
                error_code,
                producers,
            })
        })?;
        r.tags()?;
        Ok((name, parts))
    })?;
    r.tags()?;
    Ok(topics)
}
