//! OffsetForLeaderEpoch (key 23), versions 0–4 (v4 flexible). rokka does
//! not stamp leader epochs into stored batches, so the end offset of any
//! epoch ≥ 0 is the log end; `current_leader_epoch` fences stale clients.
//!
//! ```text
//! request  replica_id i32 (v3+),
//!          topics [topic str, partitions [partition i32, current_leader_epoch i32 (v2+),
//!                  leader_epoch i32, tags], tags], tags
//! response throttle_time_ms i32 (v2+),
//!          topics [topic str, partitions [error_code i16, partition i32,
//!                  leader_epoch i32 (v1+), end_offset i64, tags], tags], tags
//! ```

use super::{DecodeError, Reader, Writer};

/// One partition asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochPartition {
    /// Partition.
    pub partition: i32,
    /// The leader epoch the client knows from Metadata (v2+; -1: none).
    pub current_leader_epoch: i32,
    /// The epoch whose end offset is asked for (the epoch of the client's
    /// position).
    pub leader_epoch: i32,
}

/// An OffsetForLeaderEpoch request: (topic, partitions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetForLeaderEpochRequest {
    /// Topics and their partitions.
    pub topics: Vec<(String, Vec<EpochPartition>)>,
}

impl OffsetForLeaderEpochRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        if version >= 3 {
            r.i32("replica_id")?;
        }
        let topics = r.array("topics", |r| {
            let topic = r.str("topic")?;
            let partitions = r.array("partitions", |r| {
                let partition = r.i32("partition")?;
                let current_leader_epoch = if version >= 2 {
                    r.i32("current_leader_epoch")?
                } else {
                    -1
                };
                let leader_epoch = r.i32("leader_epoch")?;
                r.tags()?;
                Ok(EpochPartition {
                    partition,
                    current_leader_epoch,
                    leader_epoch,
                })
            })?;
            r.tags()?;
            Ok((topic, partitions))
        })?;
        r.tags()?;
        Ok(OffsetForLeaderEpochRequest { topics })
    }
}

/// One partition's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochEndOffset {
    /// Error code.
    pub error_code: i16,
    /// Partition.
    pub partition: i32,
    /// Leader epoch (-1 if unknown).
    pub leader_epoch: i32,
    /// End offset of that epoch (-1 if unknown).
    pub end_offset: i64,
}

/// Encodes a response for `version`: (topic, partitions) pairs.
pub fn encode_response(w: &mut Writer, version: i16, topics: &[(String, Vec<EpochEndOffset>)]) {
    if version >= 2 {
        w.i32(0);
    }
    w.array(topics, |w, (topic, parts)| {
        w.str(topic);
        w.array(parts, |w, p| {
            w.i16(p.error_code);
            w.i32(p.partition);
            if version >= 1 {
                w.i32(p.leader_epoch);
            }
            w.i64(p.end_offset);
            w.tags();
        });
        w.tags();
    });
    w.tags();
}

impl OffsetForLeaderEpochRequest {
    /// Encodes the body of `version` as a consumer would (replica_id -2).
    pub fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 3 {
            w.i32(-2);
        }
        w.array(&self.topics, |w, (topic, partitions)| {
            w.str(topic);
            w.array(partitions, |w, p| {
                w.i32(p.partition);
                if version >= 2 {
                    w.i32(p.current_leader_epoch);
                }
                w.i32(p.leader_epoch);
                w.tags();
            });
            w.tags();
        });
        w.tags();
    }
}

/// Decodes a response body of `version` (the inverse of [`encode_response`]);
/// `leader_epoch` is -1 in v0.
pub fn decode_response(
    r: &mut Reader<'_>,
    version: i16,
) -> Result<Vec<(String, Vec<EpochEndOffset>)>, DecodeError> {
    if version >= 2 {
        r.i32("throttle_time_ms")?;
    }
    let topics = r.array("topics", |r| {
        let topic = r.str("topic")?;
        let partitions = r.array("partitions", |r| {
            let error_code = r.i16("error_code")?;
            let partition = r.i32("partition")?;
            let leader_epoch = if version >= 1 {
                r.i32("leader_epoch")?
            } else {
                -1
            };
            let p = EpochEndOffset {
                error_code,
                partition,
                leader_epoch,
                end_offset: r.i64("end_offset")?,
            };
            r.tags()?;
            Ok(p)
        })?;
        r.tags()?;
        Ok((topic, partitions))
    })?;
    r.tags()?;
    Ok(topics)
}
