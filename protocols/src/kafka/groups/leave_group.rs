//! LeaveGroup (key 13), versions 0–5 (v3+ leave a batch of members, v4+
//! flexible).
//!
//! ```text
//! request  group_id str, member_id str (v0-2)
//!          | members [member_id str, group_instance_id nstr, reason nstr (v5+), tags] (v3+), tags
//! response throttle_time_ms i32 (v1+), error_code i16,
//!          members [member_id str, group_instance_id nstr, error_code i16, tags] (v3+), tags
//! ```

use crate::kafka::{DecodeError, Reader, Writer};

/// A LeaveGroup request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveGroupRequest {
    /// Group id.
    pub group_id: String,
    /// Leaving members (one for v0–v2).
    pub member_ids: Vec<String>,
}

impl LeaveGroupRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let group_id = r.str("group_id")?;
        let member_ids = if version >= 3 {
            r.array("members", |r| {
                let id = r.str("member_id")?;
                r.nstr("group_instance_id")?;
                if version >= 5 {
                    r.nstr("reason")?;
                }
                r.tags()?;
                Ok(id)
            })?
        } else {
            vec![r.str("member_id")?]
        };
        r.tags()?;
        Ok(LeaveGroupRequest {
            group_id,
            member_ids,
        })
    }
}

/// Encodes a LeaveGroup response: a top-level error and, for v3+, one
/// `(member id, error code)` per member.
pub fn encode_response(w: &mut Writer, version: i16, error_code: i16, members: &[(String, i16)]) {
    if version >= 1 {
        w.i32(0);
    }
    w.i16(error_code);
    if version >= 3 {
        w.array(members, |w, (id, e)| {
            w.str(id);
            w.nstr(None);
            w.i16(*e);
            w.tags();
        });
    }
    w.tags();
}

impl LeaveGroupRequest {
    /// Encodes the body of `version` (no group instance ids, no reasons).
    /// Before v3 only the first member id is sent ("" if there is none).
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.str(&self.group_id);
        if version >= 3 {
            w.array(&self.member_ids, |w, id| {
                w.str(id);
                w.nstr(None);
                if version >= 5 {
                    w.nstr(None);
                }
                w.tags();
            });
        } else {
            w.str(self.member_ids.first().map_or("", String::as_str));
        }
        w.tags();
    }
}

/// A decoded LeaveGroup response: the top-level error code and, for v3+,
/// `(member id, error code)` per member.
pub type LeaveGroupResponseBody = (i16, Vec<(String, i16)>);

/// Decodes a LeaveGroup response body of `version` (the inverse of
/// [`encode_response`]).
pub fn decode_response(
    r: &mut Reader<'_>,
    version: i16,
) -> Result<LeaveGroupResponseBody, DecodeError> {
    if version >= 1 {
        r.i32("throttle_time_ms")?;
    }
    let error_code = r.i16("error_code")?;
    let members = if version >= 3 {
        r.array("members", |r| {
            let id = r.str("member_id")?;
            r.nstr("group_instance_id")?;
            let e = r.i16("error_code")?;
            r.tags()?;
            Ok((id, e))
        })?
    } else {
        Vec::new()
    };
    r.tags()?;
    Ok((error_code, members))
}
