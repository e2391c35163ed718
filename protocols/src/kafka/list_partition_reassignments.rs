//! ListPartitionReassignments (key 46), version 0 (flexible). A single
//! node never moves replicas, so rokka's answer is always empty.
//!
//! ```text
//! request  timeout_ms i32, topics nullable [name str, partition_indexes [i32], tags], tags
//! response throttle_time_ms i32, error_code i16, error_message nstr,
//!          topics [name str, partitions [partition_index i32, replicas [i32],
//!                  adding_replicas [i32], removing_replicas [i32], tags], tags], tags
//! ```

use super::{DecodeError, Reader, TopicPartitions, Writer};

/// A ListPartitionReassignments request; `None` topics = all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPartitionReassignmentsRequest {
    /// Timeout.
    pub timeout_ms: i32,
    /// Partitions asked about.
    pub topics: Option<Vec<TopicPartitions>>,
}

impl ListPartitionReassignmentsRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        let timeout_ms = r.i32("timeout_ms")?;
        let topics = r.narray("topics", TopicPartitions::read)?;
        r.tags()?;
        Ok(ListPartitionReassignmentsRequest { timeout_ms, topics })
    }

    /// Encodes the body of `version`.
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.timeout_ms);
        match &self.topics {
            None => w.array_len(None),
            Some(t) => w.array(t, |w, t| t.write(w)),
        }
        w.tags();
    }
}

/// Encodes a response with no ongoing reassignment.
pub fn encode_response(w: &mut Writer, _version: i16, error_code: i16) {
    w.i32(0);
    w.i16(error_code);
    w.nstr(None);
    w.array_len(Some(0));
    w.tags();
}

/// Decodes a response: (error code, number of topics listed).
pub fn decode_response(r: &mut Reader<'_>, _version: i16) -> Result<(i16, usize), DecodeError> {
    r.i32("throttle_time_ms")?;
    let code = r.i16("error_code")?;
    r.nstr("error_message")?;
    let topics = r.array("topics", |r| {
        r.str("name")?;
        r.array("partitions", |r| {
            r.i32("partition_index")?;
            for f in ["replicas", "adding_replicas", "removing_replicas"] {
                r.array(f, |r| r.i32("replica"))?;
            }
            r.tags()
        })?;
        r.tags()
    })?;
    r.tags()?;
    Ok((code, topics.len()))
}
