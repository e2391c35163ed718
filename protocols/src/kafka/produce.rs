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

    /// Encodes the body of `version` (the inverse of [`Self::decode`]).
    pub fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 3 {
            w.nstr(self.transactional_id.as_deref());
        }
        w.i16(self.acks);
        w.i32(self.timeout_ms);
        w.array(&self.topics, |w, t| {
            w.str(&t.name);
            w.array(&t.partitions, |w, p| {
                w.i32(p.index);
                w.bytes(&p.records);
                w.tags();
            });
            w.tags();
        });
        w.tags();
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
    /// Broker append time stamped on the batch (v2+; -1 = CreateTime topic).
    pub log_append_time_ms: i64,
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
                    w.i64(p.log_append_time_ms);
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

    /// Decodes the body of `version` (the inverse of [`Self::encode`]);
    /// `log_start_offset` is -1 before v5, `log_append_time_ms` before v2.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let responses = r.array("responses", |r| {
            let t = ProduceTopicResponse {
                name: r.str("name")?,
                partitions: r.array("partition_responses", |r| {
                    let index = r.i32("index")?;
                    let error_code = r.i16("error_code")?;
                    let base_offset = r.i64("base_offset")?;
                    let log_append_time_ms = if version >= 2 {
                        r.i64("log_append_time_ms")?
                    } else {
                        -1
                    };
                    let log_start_offset = if version >= 5 {
                        r.i64("log_start_offset")?
                    } else {
                        -1
                    };
                    if version >= 8 {
                        r.array("record_errors", |r| {
                            r.i32("batch_index")?;
                            r.nstr("batch_index_error_message")?;
                            r.tags()
                        })?;
                        r.nstr("error_message")?;
                    }
                    r.tags()?;
                    Ok(ProducePartitionResponse {
                        index,
                        error_code,
                        base_offset,
                        log_start_offset,
                        log_append_time_ms,
                    })
                })?,
            };
            r.tags()?;
            Ok(t)
        })?;
        if version >= 1 {
            r.i32("throttle_time_ms")?;
        }
        r.tags()?;
        Ok(ProduceResponse { responses })
    }
}
