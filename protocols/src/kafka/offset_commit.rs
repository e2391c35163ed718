//! OffsetCommit (key 8), versions 0–8 (v8 flexible), into the offset table shared with
//! RocketMQ consumer groups.
//!
//! ```text
//! request  group_id str, generation_id i32 (v1+), member_id str (v1+),
//!          group_instance_id nstr (v7+), retention_time_ms i64 (v2-4),
//!          topics [name str, partitions [partition_index i32, committed_offset i64,
//!                  committed_leader_epoch i32 (v6+), commit_timestamp i64 (v1),
//!                  committed_metadata nstr]]
//! response throttle_time_ms i32 (v3+), topics [name str, partitions [partition_index i32, error_code i16]]
//! ```

use super::{DecodeError, Reader, Writer};

/// One partition's commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitPartition {
    /// Partition index.
    pub partition_index: i32,
    /// Next offset to consume.
    pub committed_offset: i64,
    /// Commit metadata.
    pub committed_metadata: Option<String>,
}

/// One topic's commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitTopic {
    /// Topic name.
    pub name: String,
    /// Partitions.
    pub partitions: Vec<OffsetCommitPartition>,
}

/// An OffsetCommit request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitRequest {
    /// Group id.
    pub group_id: String,
    /// Generation (-1 = simple commit outside the group protocol).
    pub generation_id: i32,
    /// Member id ("" for simple commits).
    pub member_id: String,
    /// Topics.
    pub topics: Vec<OffsetCommitTopic>,
}

impl OffsetCommitRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let group_id = r.str("group_id")?;
        let (mut generation_id, mut member_id) = (-1, String::new());
        if version >= 1 {
            generation_id = r.i32("generation_id")?;
            member_id = r.str("member_id")?;
        }
        if version >= 7 {
            r.nstr("group_instance_id")?;
        }
        if (2..=4).contains(&version) {
            r.i64("retention_time_ms")?;
        }
        let topics = r.array("topics", |r| {
            let t = OffsetCommitTopic {
                name: r.str("name")?,
                partitions: r.array("partitions", |r| {
                    let partition_index = r.i32("partition_index")?;
                    let committed_offset = r.i64("committed_offset")?;
                    if version >= 6 {
                        r.i32("committed_leader_epoch")?;
                    }
                    if version == 1 {
                        r.i64("commit_timestamp")?;
                    }
                    let p = OffsetCommitPartition {
                        partition_index,
                        committed_offset,
                        committed_metadata: r.nstr("committed_metadata")?,
                    };
                    r.tags()?;
                    Ok(p)
                })?,
            };
            r.tags()?;
            Ok(t)
        })?;
        r.tags()?;
        Ok(OffsetCommitRequest {
            group_id,
            generation_id,
            member_id,
            topics,
        })
    }
}

/// One topic's results: (partition, error code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitTopicResponse {
    /// Topic name.
    pub name: String,
    /// (partition index, error code).
    pub partitions: Vec<(i32, i16)>,
}

/// An OffsetCommit response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetCommitResponse {
    /// Topics.
    pub topics: Vec<OffsetCommitTopicResponse>,
}

impl OffsetCommitResponse {
    /// Encodes the body for `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 3 {
            w.i32(0);
        }
        w.array(&self.topics, |w, t| {
            w.str(&t.name);
            w.array(&t.partitions, |w, (p, e)| {
                w.i32(*p);
                w.i16(*e);
                w.tags();
            });
            w.tags();
        });
        w.tags();
    }
}

impl OffsetCommitRequest {
    /// Encodes the body of `version` (the inverse of [`Self::decode`]):
    /// no group instance id, retention -1, leader epoch -1, commit time -1.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.str(&self.group_id);
        if version >= 1 {
            w.i32(self.generation_id);
            w.str(&self.member_id);
        }
        if version >= 7 {
            w.nstr(None);
        }
        if (2..=4).contains(&version) {
            w.i64(-1);
        }
        w.array(&self.topics, |w, t| {
            w.str(&t.name);
            w.array(&t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i64(p.committed_offset);
                if version >= 6 {
                    w.i32(-1);
                }
                if version == 1 {
                    w.i64(-1);
                }
                w.nstr(p.committed_metadata.as_deref());
                w.tags();
            });
            w.tags();
        });
        w.tags();
    }
}

impl OffsetCommitResponse {
    /// Decodes the body of `version` (the inverse of [`Self::encode`]).
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        if version >= 3 {
            r.i32("throttle_time_ms")?;
        }
        let topics = r.array("topics", |r| {
            let t = OffsetCommitTopicResponse {
                name: r.str("name")?,
                partitions: r.array("partitions", |r| {
                    let p = (r.i32("partition_index")?, r.i16("error_code")?);
                    r.tags()?;
                    Ok(p)
                })?,
            };
            r.tags()?;
            Ok(t)
        })?;
        r.tags()?;
        Ok(OffsetCommitResponse { topics })
    }
}
