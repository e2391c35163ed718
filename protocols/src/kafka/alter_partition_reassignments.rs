//! AlterPartitionReassignments (key 45), version 0 (flexible). rokka has
//! one node holding every partition, so each partition is refused.
//!
//! ```text
//! request  timeout_ms i32, topics [name str, partitions [partition_index i32,
//!                                  replicas nullable [i32], tags], tags], tags
//! response throttle_time_ms i32, error_code i16, error_message nstr,
//!          responses [name str, partitions [partition_index i32, error_code i16,
//!                     error_message nstr, tags], tags], tags
//! ```

use super::{DecodeError, Reader, TopicPartitions, Writer};

/// An AlterPartitionReassignments request (target replicas dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterPartitionReassignmentsRequest {
    /// Timeout.
    pub timeout_ms: i32,
    /// Partitions to move.
    pub topics: Vec<TopicPartitions>,
}

impl AlterPartitionReassignmentsRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        let timeout_ms = r.i32("timeout_ms")?;
        let topics = r.array("topics", |r| {
            let name = r.str("name")?;
            let partitions = r.array("partitions", |r| {
                let p = r.i32("partition_index")?;
                r.narray("replicas", |r| r.i32("replica"))?;
                r.tags()?;
                Ok(p)
            })?;
            r.tags()?;
            Ok(TopicPartitions { name, partitions })
        })?;
        r.tags()?;
        Ok(AlterPartitionReassignmentsRequest { timeout_ms, topics })
    }

    /// Encodes the body of `version` (each partition's replicas null: cancel).
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.timeout_ms);
        w.array(&self.topics, |w, t| {
            w.str(&t.name);
            w.array(&t.partitions, |w, p| {
                w.i32(*p);
                w.array_len(None);
                w.tags();
            });
            w.tags();
        });
        w.tags();
    }
}

/// Encodes a response giving every partition `code` and `message`.
pub fn encode_response(
    w: &mut Writer,
    _version: i16,
    topics: &[TopicPartitions],
    code: i16,
    message: &str,
) {
    w.i32(0);
    w.i16(0);
    w.nstr(None);
    w.array(topics, |w, t| {
        w.str(&t.name);
        w.array(&t.partitions, |w, p| {
            w.i32(*p);
            w.i16(code);
            w.nstr(Some(message));
            w.tags();
        });
        w.tags();
    });
    w.tags();
}

/// Decodes a response: per topic, (partition, error code).
pub fn decode_response(
    r: &mut Reader<'_>,
    _version: i16,
) -> Result<super::TopicErrors, DecodeError> {
    r.i32("throttle_time_ms")?;
    r.i16("error_code")?;
    r.nstr("error_message")?;
    let topics = r.array("responses", |r| {
        let name = r.str("name")?;
        let parts = r.array("partitions", |r| {
            let p = (r.i32("partition_index")?, r.i16("error_code")?);
            r.nstr("error_message")?;
            r.tags()?;
            Ok(p)
        })?;
        r.tags()?;
        Ok((name, parts))
    })?;
    r.tags()?;
    Ok(topics)
}
