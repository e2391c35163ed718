//! Produce (key 0), versions 0–11 (v9+ flexible; v10/v11 only add optional
//! tagged fields, which rokka neither needs nor sends). v0–v2 carry MessageSet v0/v1 (converted
//! to v2 on write); v3+ carry one RecordBatch v2 per partition.
//!
//! ```text
//! request  transactional_id nstr (v3+), acks i16, timeout_ms i32,
//!          topics [name str, partitions [index i32, records nbytes]]
//! response responses [name str, partitions [index i32, error_code i16, base_offset i64,
//!                     log_append_time_ms i64 (v2+), log_start_offset i64 (v5+),
//!                     record_errors [batch_index i32, message nstr] (v8+),
//!                     error_message nstr (v8+)]],
//!          throttle_time_ms i32 (v1+)
//! ```
//! `acks = 0` gets no response at all.

use bytes::Bytes;

use super::{DecodeError, Reader, Writer};

/// Records for one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducePartition {
    /// Partition index.
    pub index: i32,
    /// The raw record set (zero-copy slice of the frame).
    pub records: Bytes,
}

/// Records for one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceTopic {
    /// Topic name.
    pub name: String,
    /// Partitions.
    pub partitions: Vec<ProducePartition>,
}

/// A Produce request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceRequest {
    /// Transactional id (v3+).
    pub transactional_id: Option<String>,
    /// 0, 1 or -1.
    pub acks: i16,
    /// Timeout.
    pub timeout_ms: i32,
    /// Topics.
    pub topics: Vec<ProduceTopic>,
}

impl ProduceRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let transactional_id = if version >= 3 {
            r.nstr("transactional_id")?
        } else {
            None
        };
        let acks = r.i16("acks")?;
        let timeout_ms = r.i32("timeout_ms")?;
        let topics = r.array("topics", |r| {
            let t = ProduceTopic {
                name: r.str("topic name")?,
                partitions: r.array("partitions", |r| {
                    let p = ProducePartition {
                        index: r.i32("partition index")?,
                        records: r.bytes("records")?,
                    };
                    r.tags()?;
                    Ok(p)
                })?,
            };
            r.tags()?;
            Ok(t)
        })?;
        r.tags()?;
        Ok(ProduceRequest {
            transactional_id,
            acks,
            timeout_ms,
            topics,
        })
    }
}

/// One partition's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducePartitionResponse {
    /// Partition index.
    pub index: i32,
    /// Error code.
    pub error_code: i16,
    /// Offset of the first appended record (-1 on error).
    pub base_offset: i64,
    /// Log start offset.
    pub log_start_offset: i64,
}

/// One topic's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceTopicResponse {
    /// Topic name.
    pub name: String,
    /// Partition results.
    pub partitions: Vec<ProducePartitionResponse>,
}

/// A Produce response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProduceResponse {
    /// Topic results.
    pub responses: Vec<ProduceTopicResponse>,
}

impl ProduceResponse {
    /// Encodes the body for `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.array(&self.responses, |w, t| {
            w.str(&t.name);
            w.array(&t.partitions, |w, p| {
                w.i32(p.index);
                w.i16(p.error_code);
                w.i64(p.base_offset);
                if version >= 2 {
                    w.i64(-1);
                }
                if version >= 5 {
                    w.i64(p.log_start_offset);
                }
                if version >= 8 {
                    w.array_len(Some(0));
                    w.nstr(None);
                }
                w.tags();
            });
            w.tags();
        });
        if version >= 1 {
            w.i32(0);
        }
        w.tags();
    }
}
