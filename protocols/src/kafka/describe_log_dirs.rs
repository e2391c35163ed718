//! DescribeLogDirs (key 35), versions 0–4 (v2+ flexible).
//!
//! ```text
//! request  topics nullable [topic str, partitions [i32], tags], tags
//! response throttle_time_ms i32, error_code i16 (v3+),
//!          results [error_code i16, log_dir str,
//!                   topics [name str, partitions [partition_index i32, partition_size i64,
//!                                                 offset_lag i64, is_future_key bool, tags], tags],
//!                   total_bytes i64 (v4+), usable_bytes i64 (v4+), tags], tags
//! ```

use super::{DecodeError, Reader, TopicPartitions, Writer};

/// A DescribeLogDirs request; `None` topics = every partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeLogDirsRequest {
    /// Partitions asked about.
    pub topics: Option<Vec<TopicPartitions>>,
}

impl DescribeLogDirsRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        let topics = r.narray("topics", TopicPartitions::read)?;
        r.tags()?;
        Ok(DescribeLogDirsRequest { topics })
    }

    /// Encodes the body of `version`.
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        match &self.topics {
            None => w.array_len(None),
            Some(t) => w.array(t, |w, t| t.write(w)),
        }
        w.tags();
    }
}

/// One log directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDir {
    /// Error code.
    pub error_code: i16,
    /// Absolute path.
    pub log_dir: String,
    /// (topic, [(partition, size bytes)]).
    pub topics: Vec<(String, Vec<(i32, i64)>)>,
    /// Bytes of the file system (v4+, -1 unknown).
    pub total_bytes: i64,
    /// Bytes free (v4+, -1 unknown).
    pub usable_bytes: i64,
}

/// Encodes a DescribeLogDirs response.
pub fn encode_response(w: &mut Writer, version: i16, dirs: &[LogDir]) {
    w.i32(0);
    if version >= 3 {
        w.i16(0);
    }
    w.array(dirs, |w, d| {
        w.i16(d.error_code);
        w.str(&d.log_dir);
        w.array(&d.topics, |w, (name, parts)| {
            w.str(name);
            w.array(parts, |w, (p, size)| {
                w.i32(*p);
                w.i64(*size);
                w.i64(0);
                w.bool(false);
                w.tags();
            });
            w.tags();
        });
        if version >= 4 {
            w.i64(d.total_bytes);
            w.i64(d.usable_bytes);
        }
        w.tags();
    });
    w.tags();
}

/// Decodes a DescribeLogDirs response (the inverse of [`encode_response`]).
pub fn decode_response(r: &mut Reader<'_>, version: i16) -> Result<Vec<LogDir>, DecodeError> {
    r.i32("throttle_time_ms")?;
    if version >= 3 {
        r.i16("error_code")?;
    }
    let dirs = r.array("results", |r| {
        let error_code = r.i16("error_code")?;
        let log_dir = r.str("log_dir")?;
        let topics = r.array("topics", |r| {
            let name = r.str("name")?;
            let parts = r.array("partitions", |r| {
                let p = (r.i32("partition_index")?, r.i64("partition_size")?);
                r.i64("offset_lag")?;
                r.bool("is_future_key")?;
                r.tags()?;
                Ok(p)
            })?;
            r.tags()?;
            Ok((name, parts))
        })?;
        let (mut total_bytes, mut usable_bytes) = (-1, -1);
        if version >= 4 {
            total_bytes = r.i64("total_bytes")?;
            usable_bytes = r.i64("usable_bytes")?;
        }
        r.tags()?;
        Ok(LogDir {
            error_code,
            log_dir,
            topics,
            total_bytes,
            usable_bytes,
        })
    })?;
    r.tags()?;
    Ok(dirs)
}
