//! CreateTopics (key 19), versions 0–7 (v5+ flexible).
//!
//! ```text
//! request  topics [name str, num_partitions i32, replication_factor i16,
//!                  assignments [partition_index i32, broker_ids [i32], tags],
//!                  configs [name str, value nstr, tags], tags],
//!          timeout_ms i32, validate_only bool (v1+), tags
//! response throttle_time_ms i32 (v2+),
//!          topics [name str, topic_id uuid (v7+), error_code i16, error_message nstr (v1+),
//!                  num_partitions i32 (v5+), replication_factor i16 (v5+),
//!                  configs nullable (never null from rokka) [name str, value nstr, read_only bool, config_source i8,
//!                                    is_sensitive bool, tags] (v5+), tags], tags
//! ```

use super::{DecodeError, Reader, Writer};

/// One topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatableTopic {
    /// Name.
    pub name: String,
    /// Partitions (-1 = broker default).
    pub num_partitions: i32,
    /// Replication factor (-1 = broker default).
    pub replication_factor: i16,
    /// Manual assignments (must be empty here).
    pub assignments: usize,
    /// Topic configs (name, value).
    pub configs: Vec<(String, Option<String>)>,
}

/// A CreateTopics request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTopicsRequest {
    /// Topics.
    pub topics: Vec<CreatableTopic>,
    /// Timeout.
    pub timeout_ms: i32,
    /// Only validate (v1+).
    pub validate_only: bool,
}

impl CreateTopicsRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let topics = r.array("topics", |r| {
            let name = r.str("name")?;
            let num_partitions = r.i32("num_partitions")?;
            let replication_factor = r.i16("replication_factor")?;
            let assignments = r
                .array("assignments", |r| {
                    r.i32("partition_index")?;
                    r.array("broker_ids", |r| r.i32("broker_id"))?;
                    r.tags()
                })?
                .len();
            let configs = r.array("configs", |r| {
                let c = (r.str("name")?, r.nstr("value")?);
                r.tags()?;
                Ok(c)
            })?;
            r.tags()?;
            Ok(CreatableTopic {
                name,
                num_partitions,
                replication_factor,
                assignments,
                configs,
            })
        })?;
        let timeout_ms = r.i32("timeout_ms")?;
        let validate_only = if version >= 1 {
            r.bool("validate_only")?
        } else {
            false
        };
        r.tags()?;
        Ok(CreateTopicsRequest {
            topics,
            timeout_ms,
            validate_only,
        })
    }
}

/// One topic's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTopicResult {
    /// Name.
    pub name: String,
    /// Topic id (v7+).
    pub topic_id: [u8; 16],
    /// Error code.
    pub error_code: i16,
    /// Error message.
    pub error_message: Option<String>,
    /// Partitions created (-1 on error).
    pub num_partitions: i32,
    /// Replication factor (v5+; -1 on error).
    pub replication_factor: i16,
    /// The topic's effective configs (v5+). Sent as a list, never null:
    /// the Java AdminClient reads it whenever `num_partitions` is not -1.
    pub configs: Vec<CreatedTopicConfig>,
}

/// One effective config of a created topic (v5+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTopicConfig {
    /// Name.
    pub name: String,
    /// Value.
    pub value: Option<String>,
    /// Read-only.
    pub read_only: bool,
    /// Source (DescribeConfigs source numbers).
    pub config_source: i8,
    /// Sensitive.
    pub is_sensitive: bool,
}

/// Encodes a CreateTopics response for `version`.
pub fn encode_response(w: &mut Writer, version: i16, results: &[CreateTopicResult]) {
    if version >= 2 {
        w.i32(0);
    }
    w.array(results, |w, t| {
        w.str(&t.name);
        if version >= 7 {
            w.raw(&t.topic_id);
        }
        w.i16(t.error_code);
        if version >= 1 {
            w.nstr(t.error_message.as_deref());
        }
        if version >= 5 {
            w.i32(t.num_partitions);
            w.i16(t.replication_factor);
            w.array(&t.configs, |w, c| {
                w.str(&c.name);
                w.nstr(c.value.as_deref());
                w.bool(c.read_only);
                w.i8(c.config_source);
                w.bool(c.is_sensitive);
                w.tags();
            });
        }
        w.tags();
    });
    w.tags();
}

impl CreateTopicsRequest {
    /// Encodes the body of `version` (the inverse of [`Self::decode`]).
    /// Only the number of manual assignments is kept, so each is sent as
    /// partition `i` with no broker ids.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.array(&self.topics, |w, t| {
            w.str(&t.name);
            w.i32(t.num_partitions);
            w.i16(t.replication_factor);
            w.array_len(Some(t.assignments));
            for i in 0..t.assignments {
                w.i32(i32::try_from(i).unwrap_or(i32::MAX));
                w.array_len(Some(0));
                w.tags();
            }
            w.array(&t.configs, |w, (name, value)| {
                w.str(name);
                w.nstr(value.as_deref());
                w.tags();
            });
            w.tags();
        });
        w.i32(self.timeout_ms);
        if version >= 1 {
            w.bool(self.validate_only);
        }
        w.tags();
    }
}

/// Decodes a CreateTopics response body of `version` (the inverse of
/// [`encode_response`]). Absent fields take the schema defaults: zero
/// `topic_id` before v7, `None` message in v0, `num_partitions` and
/// `replication_factor` -1 and no configs before v5.
pub fn decode_response(
    r: &mut Reader<'_>,
    version: i16,
) -> Result<Vec<CreateTopicResult>, DecodeError> {
    if version >= 2 {
        r.i32("throttle_time_ms")?;
    }
    let results = r.array("topics", |r| {
        let name = r.str("name")?;
        let topic_id = if version >= 7 {
            r.uuid("topic_id")?
        } else {
            [0; 16]
        };
        let error_code = r.i16("error_code")?;
        let error_message = if version >= 1 {
            r.nstr("error_message")?
        } else {
            None
        };
        let (mut num_partitions, mut replication_factor) = (-1, -1);
        let mut configs = Vec::new();
        if version >= 5 {
            num_partitions = r.i32("num_partitions")?;
            replication_factor = r.i16("replication_factor")?;
            configs = r
                .narray("configs", |r| {
                    let c = CreatedTopicConfig {
                        name: r.str("name")?,
                        value: r.nstr("value")?,
                        read_only: r.bool("read_only")?,
                        config_source: r.i8("config_source")?,
                        is_sensitive: r.bool("is_sensitive")?,
                    };
                    r.tags()?;
                    Ok(c)
                })?
                .unwrap_or_default();
        }
        r.tags()?;
        Ok(CreateTopicResult {
            name,
            topic_id,
            error_code,
            error_message,
            num_partitions,
            replication_factor,
            configs,
        })
    })?;
    r.tags()?;
    Ok(results)
}
