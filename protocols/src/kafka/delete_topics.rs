//! DeleteTopics (key 20), versions 0–5 (v4+ flexible; v6 names topics by id
//! and is not supported).
//!
//! ```text
//! request  topic_names [str], timeout_ms i32, tags
//! response throttle_time_ms i32 (v1+),
//!          responses [name str, error_code i16, error_message nstr (v5+), tags], tags
//! ```

use super::{DecodeError, Reader, Writer};

/// A DeleteTopics request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteTopicsRequest {
    /// Topics to delete.
    pub topic_names: Vec<String>,
    /// Timeout.
    pub timeout_ms: i32,
}

impl DeleteTopicsRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        let topic_names = r.array("topic_names", |r| r.str("name"))?;
        let timeout_ms = r.i32("timeout_ms")?;
        r.tags()?;
        Ok(DeleteTopicsRequest {
            topic_names,
            timeout_ms,
        })
    }
}

/// Encodes a DeleteTopics response: one `(name, error code)` per topic.
pub fn encode_response(w: &mut Writer, version: i16, results: &[(String, i16)]) {
    if version >= 1 {
        w.i32(0);
    }
    w.array(results, |w, (name, code)| {
        w.str(name);
        w.i16(*code);
        if version >= 5 {
            w.nstr(None);
        }
        w.tags();
    });
    w.tags();
}

impl DeleteTopicsRequest {
    /// Encodes the body of `version` (the inverse of [`Self::decode`]).
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        w.array(&self.topic_names, |w, n| w.str(n));
        w.i32(self.timeout_ms);
        w.tags();
    }
}

/// Decodes a DeleteTopics response body of `version` (the inverse of
/// [`encode_response`]): `(name, error code)` per topic.
pub fn decode_response(
    r: &mut Reader<'_>,
    version: i16,
) -> Result<Vec<(String, i16)>, DecodeError> {
    if version >= 1 {
        r.i32("throttle_time_ms")?;
    }
    let results = r.array("responses", |r| {
        let name = r.str("name")?;
        let code = r.i16("error_code")?;
        if version >= 5 {
            r.nstr("error_message")?;
        }
        r.tags()?;
        Ok((name, code))
    })?;
    r.tags()?;
    Ok(results)
}
