//! CreatePartitions (key 37), versions 0–3 (v2+ flexible).
//!
//! ```text
//! request  topics [name str, count i32, assignments nullable [broker_ids [i32], tags], tags],
//!          timeout_ms i32, validate_only bool, tags
//! response throttle_time_ms i32, results [name str, error_code i16, error_message nstr, tags], tags
//! ```

use super::{DecodeError, Reader, Writer};

/// One topic to grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePartitionsTopic {
    /// Topic name.
    pub name: String,
    /// New total partition count.
    pub count: i32,
    /// True if manual assignments were given.
    pub has_assignments: bool,
}

/// A CreatePartitions request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePartitionsRequest {
    /// Topics.
    pub topics: Vec<CreatePartitionsTopic>,
    /// Only validate.
    pub validate_only: bool,
}

impl CreatePartitionsRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        let topics = r.array("topics", |r| {
            let name = r.str("name")?;
            let count = r.i32("count")?;
            let assignments = r.narray("assignments", |r| {
                r.array("broker_ids", |r| r.i32("broker_id"))?;
                r.tags()
            })?;
            r.tags()?;
            Ok(CreatePartitionsTopic {
                name,
                count,
                has_assignments: assignments.is_some(),
            })
        })?;
        r.i32("timeout_ms")?;
        let validate_only = r.bool("validate_only")?;
        r.tags()?;
        Ok(CreatePartitionsRequest {
            topics,
            validate_only,
        })
    }
}

/// Encodes a CreatePartitions response: `(name, error code, message)` per topic.
pub fn encode_response(w: &mut Writer, _version: i16, results: &[(String, i16, Option<String>)]) {
    w.i32(0);
    w.array(results, |w, (name, code, msg)| {
        w.str(name);
        w.i16(*code);
        w.nstr(msg.as_deref());
        w.tags();
    });
    w.tags();
}

impl CreatePartitionsRequest {
    /// Encodes the body of `version` (the inverse of [`Self::decode`]).
    /// Manual assignments are kept only as present/absent, so present ones
    /// are sent as an empty list; the timeout is not kept and is sent as 0.
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        w.array(&self.topics, |w, t| {
            w.str(&t.name);
            w.i32(t.count);
            w.array_len(t.has_assignments.then_some(0));
            w.tags();
        });
        w.i32(0);
        w.bool(self.validate_only);
        w.tags();
    }
}

/// A decoded CreatePartitions result: `(name, error code, message)`.
pub type CreatePartitionsResult = (String, i16, Option<String>);

/// Decodes a CreatePartitions response body (the inverse of
/// [`encode_response`]).
pub fn decode_response(
    r: &mut Reader<'_>,
    _version: i16,
) -> Result<Vec<CreatePartitionsResult>, DecodeError> {
    r.i32("throttle_time_ms")?;
    let results = r.array("results", |r| {
        let res = (
            r.str("name")?,
            r.i16("error_code")?,
            r.nstr("error_message")?,
        );
        r.tags()?;
        Ok(res)
    })?;
    r.tags()?;
    Ok(results)
}
