//! Heartbeat (key 12), versions 0–4 (v4 flexible).
//!
//! ```text
//! request  group_id str, generation_id i32, member_id str, group_instance_id nstr (v3+), tags
//! response throttle_time_ms i32 (v1+), error_code i16, tags
//! ```

use crate::kafka::{DecodeError, Reader, Writer};

/// A Heartbeat request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatRequest {
    /// Group id.
    pub group_id: String,
    /// Generation.
    pub generation_id: i32,
    /// Member id.
    pub member_id: String,
}

impl HeartbeatRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let req = HeartbeatRequest {
            group_id: r.str("group_id")?,
            generation_id: r.i32("generation_id")?,
            member_id: r.str("member_id")?,
        };
        if version >= 3 {
            r.nstr("group_instance_id")?;
        }
        r.tags()?;
        Ok(req)
    }
}

/// Encodes a Heartbeat response body for `version`.
pub fn encode_response(w: &mut Writer, version: i16, error_code: i16) {
    if version >= 1 {
        w.i32(0);
    }
    w.i16(error_code);
    w.tags();
}

impl HeartbeatRequest {
    /// Encodes the body of `version` (no group instance id).
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.str(&self.group_id);
        w.i32(self.generation_id);
        w.str(&self.member_id);
        if version >= 3 {
            w.nstr(None);
        }
        w.tags();
    }
}

/// Decodes a Heartbeat response body of `version`: its error code.
pub fn decode_response(r: &mut Reader<'_>, version: i16) -> Result<i16, DecodeError> {
    if version >= 1 {
        r.i32("throttle_time_ms")?;
    }
    let error_code = r.i16("error_code")?;
    r.tags()?;
    Ok(error_code)
}
