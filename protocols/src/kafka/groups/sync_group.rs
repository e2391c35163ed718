//! SyncGroup (key 14), versions 0–5 (v4+ flexible).
//!
//! ```text
//! request  group_id str, generation_id i32, member_id str, group_instance_id nstr (v3+),
//!          protocol_type nstr (v5+), protocol_name nstr (v5+),
//!          assignments [member_id str, assignment bytes, tags], tags
//! response throttle_time_ms i32 (v1+), error_code i16, protocol_type nstr (v5+),
//!          protocol_name nstr (v5+), assignment bytes, tags
//! ```

use bytes::Bytes;

use crate::kafka::{DecodeError, Reader, Writer};

/// A SyncGroup request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupRequest {
    /// Group id.
    pub group_id: String,
    /// Generation.
    pub generation_id: i32,
    /// Member id.
    pub member_id: String,
    /// (member id, assignment), from the leader only.
    pub assignments: Vec<(String, Bytes)>,
}

impl SyncGroupRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let group_id = r.str("group_id")?;
        let generation_id = r.i32("generation_id")?;
        let member_id = r.str("member_id")?;
        if version >= 3 {
            r.nstr("group_instance_id")?;
        }
        if version >= 5 {
            r.nstr("protocol_type")?;
            r.nstr("protocol_name")?;
        }
        let assignments = r.array("assignments", |r| {
            let a = (r.str("member_id")?, r.bytes("assignment")?);
            r.tags()?;
            Ok(a)
        })?;
        r.tags()?;
        Ok(SyncGroupRequest {
            group_id,
            generation_id,
            member_id,
            assignments,
        })
    }
}

/// A SyncGroup response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncGroupResponse {
    /// Error code.
    pub error_code: i16,
    /// Group protocol type (v5+).
    pub protocol_type: Option<String>,
    /// Chosen protocol (v5+).
    pub protocol_name: Option<String>,
    /// This member's assignment.
    pub assignment: Bytes,
}

impl SyncGroupResponse {
    /// Encodes the body for `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 1 {
            w.i32(0);
        }
        w.i16(self.error_code);
        if version >= 5 {
            w.nstr(self.protocol_type.as_deref());
            w.nstr(self.protocol_name.as_deref());
        }
        w.bytes(&self.assignment);
        w.tags();
    }
}

impl SyncGroupRequest {
    /// Encodes the body of `version` (no group instance id, null protocol
    /// type and name).
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.str(&self.group_id);
        w.i32(self.generation_id);
        w.str(&self.member_id);
        if version >= 3 {
            w.nstr(None);
        }
        if version >= 5 {
            w.nstr(None);
            w.nstr(None);
        }
        w.array(&self.assignments, |w, (id, assignment)| {
            w.str(id);
            w.bytes(assignment);
            w.tags();
        });
        w.tags();
    }
}

impl SyncGroupResponse {
    /// Decodes the body of `version` (the inverse of [`Self::encode`]).
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        if version >= 1 {
            r.i32("throttle_time_ms")?;
        }
        let mut resp = SyncGroupResponse {
            error_code: r.i16("error_code")?,
            ..SyncGroupResponse::default()
        };
        if version >= 5 {
            resp.protocol_type = r.nstr("protocol_type")?;
            resp.protocol_name = r.nstr("protocol_name")?;
        }
        resp.assignment = r.bytes("assignment")?;
        r.tags()?;
        Ok(resp)
    }
}
