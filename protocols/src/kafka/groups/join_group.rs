//! JoinGroup (key 11), versions 0–9 (v6+ flexible).
//!
//! ```text
//! request  group_id str, session_timeout_ms i32, rebalance_timeout_ms i32 (v1+),
//!          member_id str, group_instance_id nstr (v5+), protocol_type str,
//!          protocols [name str, metadata bytes, tags], reason nstr (v8+), tags
//! response throttle_time_ms i32 (v2+), error_code i16, generation_id i32,
//!          protocol_type nstr (v7+), protocol_name str (nstr v7+), leader str,
//!          skip_assignment bool (v9+), member_id str,
//!          members [member_id str, group_instance_id nstr (v5+), metadata bytes, tags], tags
//! ```
//! `MEMBER_ID_REQUIRED` is only returned to v4+ requests.

use bytes::Bytes;

use crate::kafka::{DecodeError, Reader, Writer};

/// A JoinGroup request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupRequest {
    /// Group id.
    pub group_id: String,
    /// Session timeout.
    pub session_timeout_ms: i32,
    /// Rebalance timeout (v0: the session timeout).
    pub rebalance_timeout_ms: i32,
    /// Member id ("" on first join).
    pub member_id: String,
    /// Static membership id (v5+).
    pub group_instance_id: Option<String>,
    /// Protocol type ("consumer").
    pub protocol_type: String,
    /// (protocol name, metadata) in preference order.
    pub protocols: Vec<(String, Bytes)>,
}

impl JoinGroupRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let group_id = r.str("group_id")?;
        let session_timeout_ms = r.i32("session_timeout_ms")?;
        let rebalance_timeout_ms = if version >= 1 {
            r.i32("rebalance_timeout_ms")?
        } else {
            session_timeout_ms
        };
        let member_id = r.str("member_id")?;
        let group_instance_id = if version >= 5 {
            r.nstr("group_instance_id")?
        } else {
            None
        };
        let protocol_type = r.str("protocol_type")?;
        let protocols = r.array("protocols", |r| {
            let p = (r.str("name")?, r.bytes("metadata")?);
            r.tags()?;
            Ok(p)
        })?;
        if version >= 8 {
            r.nstr("reason")?;
        }
        r.tags()?;
        Ok(JoinGroupRequest {
            group_id,
            session_timeout_ms,
            rebalance_timeout_ms,
            member_id,
            group_instance_id,
            protocol_type,
            protocols,
        })
    }
}

/// A member as the leader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupMember {
    /// Member id.
    pub member_id: String,
    /// Static id.
    pub group_instance_id: Option<String>,
    /// Metadata of the chosen protocol.
    pub metadata: Bytes,
}

/// A JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JoinGroupResponse {
    /// Error code.
    pub error_code: i16,
    /// Generation.
    pub generation_id: i32,
    /// Protocol type of the group (v7+; null on error).
    pub protocol_type: Option<String>,
    /// Chosen protocol.
    pub protocol_name: String,
    /// Leader's member id.
    pub leader: String,
    /// This member's id.
    pub member_id: String,
    /// Members (leader only).
    pub members: Vec<JoinGroupMember>,
}

impl JoinGroupResponse {
    /// Encodes the body for `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 2 {
            w.i32(0);
        }
        w.i16(self.error_code);
        w.i32(self.generation_id);
        if version >= 7 {
            w.nstr(self.protocol_type.as_deref());
            let name = (!self.protocol_name.is_empty()).then_some(self.protocol_name.as_str());
            w.nstr(name);
        } else {
            w.str(&self.protocol_name);
        }
        w.str(&self.leader);
        if version >= 9 {
            w.bool(false);
        }
        w.str(&self.member_id);
        w.array(&self.members, |w, m| {
            w.str(&m.member_id);
            if version >= 5 {
                w.nstr(m.group_instance_id.as_deref());
            }
            w.bytes(&m.metadata);
            w.tags();
        });
        w.tags();
    }
}

impl JoinGroupRequest {
    /// Encodes the body of `version` (the inverse of [`Self::decode`]; no
    /// reason). Before v1 `rebalance_timeout_ms` is not sent.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.str(&self.group_id);
        w.i32(self.session_timeout_ms);
        if version >= 1 {
            w.i32(self.rebalance_timeout_ms);
        }
        w.str(&self.member_id);
        if version >= 5 {
            w.nstr(self.group_instance_id.as_deref());
        }
        w.str(&self.protocol_type);
        w.array(&self.protocols, |w, (name, metadata)| {
            w.str(name);
            w.bytes(metadata);
            w.tags();
        });
        if version >= 8 {
            w.nstr(None);
        }
        w.tags();
    }
}

impl JoinGroupResponse {
    /// Decodes the body of `version` (the inverse of [`Self::encode`]): a
    /// null protocol name reads as "", `protocol_type` is `None` before v7.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        if version >= 2 {
            r.i32("throttle_time_ms")?;
        }
        let error_code = r.i16("error_code")?;
        let generation_id = r.i32("generation_id")?;
        let protocol_type = if version >= 7 {
            r.nstr("protocol_type")?
        } else {
            None
        };
        let protocol_name = r.str("protocol_name")?;
        let leader = r.str("leader")?;
        if version >= 9 {
            r.bool("skip_assignment")?;
        }
        let member_id = r.str("member_id")?;
        let members = r.array("members", |r| {
            let member_id = r.str("member_id")?;
            let group_instance_id = if version >= 5 {
                r.nstr("group_instance_id")?
            } else {
                None
            };
            let m = JoinGroupMember {
                member_id,
                group_instance_id,
                metadata: r.bytes("metadata")?,
            };
            r.tags()?;
            Ok(m)
        })?;
        r.tags()?;
        Ok(JoinGroupResponse {
            error_code,
            generation_id,
            protocol_type,
            protocol_name,
            leader,
            member_id,
            members,
        })
    }
}
