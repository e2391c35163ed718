//! DeleteRecords (key 21), versions 0–2 (v2+ flexible): moves the start
//! (low watermark) of partitions up to the given offsets; -1 means the high
//! watermark.
//!
//! ```text
//! request  topics [name str, partitions [partition_index i32, offset i64, tags], tags],
//!          timeout_ms i32, tags
//! response throttle_time_ms i32,
//!          topics [name str, partitions [partition_index i32, low_watermark i64,
//!                  error_code i16, tags], tags], tags
//! ```

use super::{DecodeError, Reader, Writer};

/// Offsets to delete before, per partition of one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRecordsTopic {
    /// Topic name.
    pub name: String,
    /// `(partition index, offset)`; offset -1 = the high watermark.
    pub partitions: Vec<(i32, i64)>,
}

/// A DeleteRecords request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRecordsRequest {
    /// Topics and partitions.
    pub topics: Vec<DeleteRecordsTopic>,
    /// How long the client waits.
    pub timeout_ms: i32,
}

/// The result for one topic: `(partition index, low watermark, error code)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRecordsTopicResult {
    /// Topic name.
    pub name: String,
    /// Per partition: index, new low watermark, error code.
    pub partitions: Vec<(i32, i64, i16)>,
}

impl DeleteRecordsRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        let topics = r.array("topics", |r| {
            let name = r.str("name")?;
            let partitions = r.array("partitions", |r| {
                let p = (r.i32("partition_index")?, r.i64("offset")?);
                r.tags()?;
                Ok(p)
            })?;
            r.tags()?;
            Ok(DeleteRecordsTopic { name, partitions })
        })?;
        let timeout_ms = r.i32("timeout_ms")?;
        r.tags()?;
        Ok(DeleteRecordsRequest { topics, timeout_ms })
    }

    /// Encodes the body of `version` (the inverse of [`Self::decode`]).
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        w.array(&self.topics, |w, t| {
            w.str(&t.name);
            w.array(&t.partitions, |w, (p, o)| {
                w.i32(*p);
                w.i64(*o);
                w.tags();
            });
            w.tags();
        });
        w.i32(self.timeout_ms);
        w.tags();
    }
}

/// Encodes a DeleteRecords response.
pub fn encode_response(w: &mut Writer, _version: i16, topics: &[DeleteRecordsTopicResult]) {
    w.i32(0);
    w.array(topics, |w, t| {
        w.str(&t.name);
        w.array(&t.partitions, |w, (p, low, code)| {
            w.i32(*p);
            w.i64(*low);
            w.i16(*code);
            w.tags();
        });
        w.tags();
    });
    w.tags();
}

/// Decodes a DeleteRecords response body (the inverse of [`encode_response`]).
pub fn decode_response(
    r: &mut Reader<'_>,
    _version: i16,
) -> Result<Vec<DeleteRecordsTopicResult>, DecodeError> {
    r.i32("throttle_time_ms")?;
    let topics = r.array("topics", |r| {
        let name = r.str("name")?;
        let partitions = r.array("partitions", |r| {
            let p = (
                r.i32("partition_index")?,
                r.i64("low_watermark")?,
                r.i16("error_code")?,
            );
            r.tags()?;
            Ok(p)
        })?;
        r.tags()?;
        Ok(DeleteRecordsTopicResult { name, partitions })
    })?;
    r.tags()?;
    Ok(topics)
}
