//! OffsetFetch (key 9), versions 0–7 (v6+ flexible), from the shared offset table.
//!
//! ```text
//! request  group_id str, topics [name str, partition_indexes [i32]] (nullable v2+: null = all)
//! response throttle_time_ms i32 (v3+),
//!          topics [name str, partitions [partition_index i32, committed_offset i64,
//!                  committed_leader_epoch i32 (v5+), metadata nstr, error_code i16]],
//!          error_code i16 (v2+)
//! (v7 adds require_stable bool after topics; flexible versions add tags)
//! ```

use super::{DecodeError, Reader, Writer};

/// One topic asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchTopic {
    /// Topic name.
    pub name: String,
    /// Partitions.
    pub partition_indexes: Vec<i32>,
}

/// An OffsetFetch request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchRequest {
    /// Group id.
    pub group_id: String,
    /// Topics; `None` = everything the group committed.
    pub topics: Option<Vec<OffsetFetchTopic>>,
}

impl OffsetFetchRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let group_id = r.str("group_id")?;
        let topics = r.narray("topics", |r| {
            let t = OffsetFetchTopic {
                name: r.str("name")?,
                partition_indexes: r.array("partition_indexes", |r| r.i32("partition"))?,
            };
            r.tags()?;
            Ok(t)
        })?;
        if version >= 7 {
            r.bool("require_stable")?;
        }
        r.tags()?;
        Ok(OffsetFetchRequest { group_id, topics })
    }
}

/// One partition's committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchPartition {
    /// Partition index.
    pub partition_index: i32,
    /// Committed offset (-1 = none).
    pub committed_offset: i64,
    /// Commit metadata.
    pub metadata: String,
    /// Error code.
    pub error_code: i16,
}

/// One topic's committed offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchTopicResponse {
    /// Topic name.
    pub name: String,
    /// Partitions.
    pub partitions: Vec<OffsetFetchPartition>,
}

/// An OffsetFetch response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetFetchResponse {
    /// Topics.
    pub topics: Vec<OffsetFetchTopicResponse>,
    /// Top-level error (v2+).
    pub error_code: i16,
}

impl OffsetFetchResponse {
    /// Encodes the body for `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 3 {
            w.i32(0);
        }
        w.array(&self.topics, |w, t| {
            w.str(&t.name);
            w.array(&t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i64(p.committed_offset);
                if version >= 5 {
                    w.i32(-1);
                }
                w.nstr(Some(&p.metadata));
                w.i16(p.error_code);
                w.tags();
            });
            w.tags();
        });
        if version >= 2 {
            w.i16(self.error_code);
        }
        w.tags();
    }
}

impl OffsetFetchRequest {
    /// Encodes the body of `version` (the inverse of [`Self::decode`]).
    /// `None` (all topics) only exists from v2; earlier it is sent as an
    /// empty list. `require_stable` (v7) is false.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.str(&self.group_id);
        match &self.topics {
            None if version < 2 => w.array_len(Some(0)),
            None => w.array_len(None),
            Some(topics) => w.array(topics, |w, t| {
                w.str(&t.name);
                w.array(&t.partition_indexes, |w, p| w.i32(*p));
                w.tags();
            }),
        }
        if version >= 7 {
            w.bool(false);
        }
        w.tags();
    }
}

impl OffsetFetchResponse {
    /// Decodes the body of `version` (the inverse of [`Self::encode`]); a
    /// null metadata reads as "", `error_code` is 0 before v2.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        if version >= 3 {
            r.i32("throttle_time_ms")?;
        }
        let topics = r.array("topics", |r| {
            let t = OffsetFetchTopicResponse {
                name: r.str("name")?,
                partitions: r.array("partitions", |r| {
                    let partition_index = r.i32("partition_index")?;
                    let committed_offset = r.i64("committed_offset")?;
                    if version >= 5 {
                        r.i32("committed_leader_epoch")?;
                    }
                    let p = OffsetFetchPartition {
                        partition_index,
                        committed_offset,
                        metadata: r.str("metadata")?,
                        error_code: r.i16("error_code")?,
                    };
                    r.tags()?;
                    Ok(p)
                })?,
            };
            r.tags()?;
            Ok(t)
        })?;
        let error_code = if version >= 2 {
            r.i16("error_code")?
        } else {
            0
        };
        r.tags()?;
        Ok(OffsetFetchResponse { topics, error_code })
    }
}
