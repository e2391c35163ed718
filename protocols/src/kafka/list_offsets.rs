//! ListOffsets (key 2), versions 0–6 (v6 flexible). Timestamp -1 = latest, -2 = earliest,
//! otherwise the first offset stored at or after the timestamp.
//!
//! ```text
//! request  replica_id i32, isolation_level i8 (v2+),
//!          topics [name str, partitions [partition_index i32, current_leader_epoch i32 (v4+),
//!                  timestamp i64, max_num_offsets i32 (v0)]]
//! response throttle_time_ms i32 (v2+),
//!          topics [name str, partitions [partition_index i32, error_code i16,
//!                  old_style_offsets [i64] (v0), timestamp i64 (v1+), offset i64 (v1+),
//!                  leader_epoch i32 (v4+)]]
//! ```

use super::{DecodeError, Reader, Writer};

/// Latest offset.
pub const LATEST: i64 = -1;
/// Earliest offset.
pub const EARLIEST: i64 = -2;

/// One partition to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsPartition {
    /// Partition index.
    pub partition_index: i32,
    /// Target timestamp, or [`LATEST`] / [`EARLIEST`].
    pub timestamp: i64,
}

/// One topic to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsTopic {
    /// Topic name.
    pub name: String,
    /// Partitions.
    pub partitions: Vec<ListOffsetsPartition>,
}

/// A ListOffsets request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsRequest {
    /// 0 = read_uncommitted, 1 = read_committed (v2+; 0 before).
    pub isolation_level: i8,
    /// Topics.
    pub topics: Vec<ListOffsetsTopic>,
}

impl ListOffsetsRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        r.i32("replica_id")?;
        let isolation_level = if version >= 2 {
            r.i8("isolation_level")?
        } else {
            0
        };
        let topics = r.array("topics", |r| {
            let t = ListOffsetsTopic {
                name: r.str("name")?,
                partitions: r.array("partitions", |r| {
                    let partition_index = r.i32("partition_index")?;
                    if version >= 4 {
                        r.i32("current_leader_epoch")?;
                    }
                    let timestamp = r.i64("timestamp")?;
                    if version == 0 {
                        r.i32("max_num_offsets")?;
                    }
                    r.tags()?;
                    Ok(ListOffsetsPartition {
                        partition_index,
                        timestamp,
                    })
                })?,
            };
            r.tags()?;
            Ok(t)
        })?;
        r.tags()?;
        Ok(ListOffsetsRequest {
            isolation_level,
            topics,
        })
    }

    /// Encodes the body of `version` as a consumer would (replica_id -1,
    /// the isolation level, no leader epoch, max_num_offsets 1).
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(-1);
        if version >= 2 {
            w.i8(self.isolation_level);
        }
        w.array(&self.topics, |w, t| {
            w.str(&t.name);
            w.array(&t.partitions, |w, p| {
                w.i32(p.partition_index);
                if version >= 4 {
                    w.i32(-1);
                }
                w.i64(p.timestamp);
                if version == 0 {
                    w.i32(1);
                }
                w.tags();
            });
            w.tags();
        });
        w.tags();
    }
}

/// One partition's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsPartitionResponse {
    /// Partition index.
    pub partition_index: i32,
    /// Error code.
    pub error_code: i16,
    /// Timestamp of the found record (-1 if none).
    pub timestamp: i64,
    /// The offset (-1 if none).
    pub offset: i64,
    /// Leader epoch.
    pub leader_epoch: i32,
}

/// One topic's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsTopicResponse {
    /// Topic name.
    pub name: String,
    /// Partitions.
    pub partitions: Vec<ListOffsetsPartitionResponse>,
}

/// A ListOffsets response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListOffsetsResponse {
    /// Topics.
    pub topics: Vec<ListOffsetsTopicResponse>,
}

impl ListOffsetsResponse {
    /// Encodes the body for `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 2 {
            w.i32(0);
        }
        w.array(&self.topics, |w, t| {
            w.str(&t.name);
            w.array(&t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i16(p.error_code);
                if version == 0 {
                    let offsets: &[i64] = if p.offset >= 0 { &[p.offset] } else { &[] };
                    w.array(offsets, |w, o| w.i64(*o));
                } else {
                    w.i64(p.timestamp);
                    w.i64(p.offset);
                    if version >= 4 {
                        w.i32(p.leader_epoch);
                    }
                }
                w.tags();
            });
            w.tags();
        });
        w.tags();
    }
}

impl ListOffsetsResponse {
    /// Decodes the body of `version` (the inverse of [`Self::encode`]). v0:
    /// `offset` is the first old-style offset (-1 if none) and `timestamp`
    /// -1; `leader_epoch` is -1 before v4.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        if version >= 2 {
            r.i32("throttle_time_ms")?;
        }
        let topics = r.array("topics", |r| {
            let t = ListOffsetsTopicResponse {
                name: r.str("name")?,
                partitions: r.array("partitions", |r| {
                    let partition_index = r.i32("partition_index")?;
                    let error_code = r.i16("error_code")?;
                    let (mut timestamp, mut leader_epoch) = (-1, -1);
                    let offset = if version == 0 {
                        let offsets = r.array("old_style_offsets", |r| r.i64("offset"))?;
                        offsets.first().copied().unwrap_or(-1)
                    } else {
                        timestamp = r.i64("timestamp")?;
                        let offset = r.i64("offset")?;
                        if version >= 4 {
                            leader_epoch = r.i32("leader_epoch")?;
                        }
                        offset
                    };
                    r.tags()?;
                    Ok(ListOffsetsPartitionResponse {
                        partition_index,
                        error_code,
                        timestamp,
                        offset,
                        leader_epoch,
                    })
                })?,
            };
            r.tags()?;
            Ok(t)
        })?;
        r.tags()?;
        Ok(ListOffsetsResponse { topics })
    }
}
