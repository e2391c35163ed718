//! OffsetDelete (key 47), version 0 (not flexible): removes a group's
//! committed offsets of some partitions.
//!
//! ```text
//! request  group_id str, topics [name str, partitions [partition_index i32]]
//! response error_code i16, throttle_time_ms i32,
//!          topics [name str, partitions [partition_index i32, error_code i16]]
//! ```

use super::{DecodeError, Reader, TopicPartitions, Writer};

/// An OffsetDelete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetDeleteRequest {
    /// Group.
    pub group_id: String,
    /// Partitions whose offsets go.
    pub topics: Vec<TopicPartitions>,
}

impl OffsetDeleteRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        let group_id = r.str("group_id")?;
        let topics = r.array("topics", TopicPartitions::read)?;
        Ok(OffsetDeleteRequest { group_id, topics })
    }

    /// Encodes the body of `version`.
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        w.str(&self.group_id);
        w.array(&self.topics, |w, t| t.write(w));
    }
}

/// One topic's per-partition outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetDeleteTopicResult {
    /// Topic.
    pub name: String,
    /// (partition, error code).
    pub partitions: Vec<(i32, i16)>,
}

/// Encodes an OffsetDelete response.
pub fn encode_response(
    w: &mut Writer,
    _version: i16,
    error_code: i16,
    topics: &[OffsetDeleteTopicResult],
) {
    w.i16(error_code);
    w.i32(0);
    w.array(topics, |w, t| {
        w.str(&t.name);
        w.array(&t.partitions, |w, (p, code)| {
            w.i32(*p);
            w.i16(*code);
        });
    });
}

/// Decodes an OffsetDelete response (the inverse of [`encode_response`]).
pub fn decode_response(
    r: &mut Reader<'_>,
    _version: i16,
) -> Result<(i16, Vec<OffsetDeleteTopicResult>), DecodeError> {
    let code = r.i16("error_code")?;
    r.i32("throttle_time_ms")?;
    let topics = r.array("topics", |r| {
        let name = r.str("name")?;
        let partitions = r.array("partitions", |r| {
            Ok((r.i32("partition_index")?, r.i16("error_code")?))
        })?;
        Ok(OffsetDeleteTopicResult { name, partitions })
    })?;
    Ok((code, topics))
}
