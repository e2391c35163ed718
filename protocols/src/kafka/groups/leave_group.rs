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
