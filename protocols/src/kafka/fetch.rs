//! Fetch (key 1), versions 0–12 (v12 flexible). v0–v3 responses carry
//! MessageSet v0 (Fetch v0/v1) or v1 (v2/v3), down-converted by the broker. Fetch sessions are
//! declined: `session_id` is always 0 and every response is full.
//!
//! ```text
//! request  replica_id i32, max_wait_ms i32, min_bytes i32, max_bytes i32 (v3+),
//!          isolation_level i8 (v4+), session_id i32 (v7+), session_epoch i32 (v7+),
//!          topics [topic str, partitions [partition i32, current_leader_epoch i32 (v9+),
//!                  fetch_offset i64, last_fetched_epoch i32 (v12+), log_start_offset i64 (v5+),
//!                  partition_max_bytes i32]],
//!          forgotten_topics_data [topic str, partitions [i32]] (v7+), rack_id str (v11+)
//! response throttle_time_ms i32 (v1+), error_code i16 (v7+), session_id i32 (v7+),
//!          responses [topic str, partitions [partition_index i32, error_code i16,
//!                     high_watermark i64, last_stable_offset i64 (v4+), log_start_offset i64 (v5+),
//!                     aborted_transactions nullable [producer_id i64, first_offset i64] (v4+),
//!                     preferred_read_replica i32 (v11+), records nbytes]]
//! ```

use bytes::Bytes;

use super::{DecodeError, Reader, Writer};

/// One partition to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPartition {
    /// Partition index.
    pub partition: i32,
    /// Offset to read from.
    pub fetch_offset: i64,
    /// Byte limit for this partition.
    pub partition_max_bytes: i32,
}

/// One topic to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchTopic {
    /// Topic name.
    pub topic: String,
    /// Partitions.
    pub partitions: Vec<FetchPartition>,
}

/// A Fetch request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// Longest wait for `min_bytes`.
    pub max_wait_ms: i32,
    /// Bytes to wait for.
    pub min_bytes: i32,
    /// Response byte limit.
    pub max_bytes: i32,
    /// 0 = read_uncommitted, 1 = read_committed (v4+; 0 before).
    pub isolation_level: i8,
    /// Topics.
    pub topics: Vec<FetchTopic>,
}

impl FetchRequest {
    /// Decodes the body of `version` (0..=12).
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        r.i32("replica_id")?;
        let max_wait_ms = r.i32("max_wait_ms")?;
        let min_bytes = r.i32("min_bytes")?;
        let max_bytes = if version >= 3 {
            r.i32("max_bytes")?
        } else {
            i32::MAX
        };
        let isolation_level = if version >= 4 {
            r.i8("isolation_level")?
        } else {
            0
        };
        if version >= 7 {
            r.i32("session_id")?;
            r.i32("session_epoch")?;
        }
        let topics = r.array("topics", |r| {
            let t = FetchTopic {
                topic: r.str("topic")?,
                partitions: r.array("partitions", |r| {
                    let partition = r.i32("partition")?;
                    if version >= 9 {
                        r.i32("current_leader_epoch")?;
                    }
                    let fetch_offset = r.i64("fetch_offset")?;
                    if version >= 12 {
                        r.i32("last_fetched_epoch")?;
                    }
                    if version >= 5 {
                        r.i64("log_start_offset")?;
                    }
                    let p = FetchPartition {
                        partition,
                        fetch_offset,
                        partition_max_bytes: r.i32("partition_max_bytes")?,
                    };
                    r.tags()?;
                    Ok(p)
                })?,
            };
            r.tags()?;
            Ok(t)
        })?;
        if version >= 7 {
            r.array("forgotten_topics_data", |r| {
                r.str("topic")?;
                r.array("partitions", |r| r.i32("partition"))?;
                r.tags()
            })?;
        }
        if version >= 11 {
            r.str("rack_id")?;
        }
        r.tags()?;
        Ok(FetchRequest {
            max_wait_ms,
            min_bytes,
            max_bytes,
            isolation_level,
            topics,
        })
    }

    /// Encodes the body of `version` as a consumer would: replica_id -1,
    /// the isolation level (v4+), no fetch session, no forgotten topics, empty rack.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(-1);
        w.i32(self.max_wait_ms);
        w.i32(self.min_bytes);
        if version >= 3 {
            w.i32(self.max_bytes);
        }
        if version >= 4 {
            w.i8(self.isolation_level);
        }
        if version >= 7 {
            w.i32(0);
            w.i32(-1);
        }
        w.array(&self.topics, |w, t| {
            w.str(&t.topic);
            w.array(&t.partitions, |w, p| {
                w.i32(p.partition);
                if version >= 9 {
                    w.i32(-1);
                }
                w.i64(p.fetch_offset);
                if version >= 12 {
                    w.i32(-1);
                }
                if version >= 5 {
                    w.i64(-1);
                }
                w.i32(p.partition_max_bytes);
                w.tags();
            });
            w.tags();
        });
        if version >= 7 {
            w.array_len(Some(0));
        }
        if version >= 11 {
            w.str("");
        }
        w.tags();
    }
}

/// One partition's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPartitionResponse {
    /// Partition index.
    pub partition_index: i32,
    /// Error code.
    pub error_code: i16,
    /// End offset.
    pub high_watermark: i64,
    /// Last stable offset (v4+): the first offset of the oldest open
    /// transaction, or the high watermark.
    pub last_stable_offset: i64,
    /// Log start offset.
    pub log_start_offset: i64,
    /// Aborted transactions in the returned range, (producer id, first
    /// offset) (v4+; `None` for read_uncommitted is sent as null).
    pub aborted_transactions: Option<Vec<(i64, i64)>>,
    /// Stored batches, sent without re-encoding.
    pub records: Vec<Bytes>,
}

/// One topic's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchTopicResponse {
    /// Topic name.
    pub topic: String,
    /// Partitions.
    pub partitions: Vec<FetchPartitionResponse>,
}

/// A Fetch response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FetchResponse {
    /// Top-level error code (v7+).
    pub error_code: i16,
    /// Topics.
    pub responses: Vec<FetchTopicResponse>,
}

impl FetchResponse {
    /// Encodes the body for `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 1 {
            w.i32(0);
        }
        if version >= 7 {
            w.i16(self.error_code);
            w.i32(0);
        }
        w.array(&self.responses, |w, t| {
            w.str(&t.topic);
            w.array(&t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i16(p.error_code);
                w.i64(p.high_watermark);
                if version >= 4 {
                    w.i64(p.last_stable_offset);
                }
                if version >= 5 {
                    w.i64(p.log_start_offset);
                }
                if version >= 4 {
                    match &p.aborted_transactions {
                        None => w.array_len(None),
                        Some(a) => w.array(a, |w, (pid, first)| {
                            w.i64(*pid);
                            w.i64(*first);
                            w.tags();
                        }),
                    }
                }
                if version >= 11 {
                    w.i32(-1);
                }
                w.records(&p.records);
                w.tags();
            });
            w.tags();
        });
        w.tags();
    }

    /// Decodes the body of `version` (the inverse of [`Self::encode`]).
    /// Each partition's records come back as one chunk (none if empty);
    /// `error_code` is 0 before v7 and `log_start_offset` -1 before v5.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        if version >= 1 {
            r.i32("throttle_time_ms")?;
        }
        let mut error_code = 0;
        if version >= 7 {
            error_code = r.i16("error_code")?;
            r.i32("session_id")?;
        }
        let responses = r.array("responses", |r| {
            let t = FetchTopicResponse {
                topic: r.str("topic")?,
                partitions: r.array("partitions", |r| {
                    let partition_index = r.i32("partition_index")?;
                    let error_code = r.i16("error_code")?;
                    let high_watermark = r.i64("high_watermark")?;
                    let last_stable_offset = if version >= 4 {
                        r.i64("last_stable_offset")?
                    } else {
                        high_watermark
                    };
                    let log_start_offset = if version >= 5 {
                        r.i64("log_start_offset")?
                    } else {
                        -1
                    };
                    let aborted_transactions = if version >= 4 {
                        r.narray("aborted_transactions", |r| {
                            let a = (r.i64("producer_id")?, r.i64("first_offset")?);
                            r.tags()?;
                            Ok(a)
                        })?
                    } else {
                        None
                    };
                    if version >= 11 {
                        r.i32("preferred_read_replica")?;
                    }
                    let records = r.bytes("records")?;
                    r.tags()?;
                    Ok(FetchPartitionResponse {
                        partition_index,
                        error_code,
                        high_watermark,
                        last_stable_offset,
                        log_start_offset,
                        aborted_transactions,
                        records: if records.is_empty() {
                            Vec::new()
                        } else {
                            vec![records]
                        },
                    })
                })?,
            };
            r.tags()?;
            Ok(t)
        })?;
        r.tags()?;
        Ok(FetchResponse {
            error_code,
            responses,
        })
    }
}
