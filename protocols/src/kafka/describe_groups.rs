//! DescribeGroups (key 15), versions 0–5 (v5 flexible).
//!
//! ```text
//! request  groups [str], include_authorized_operations bool (v3+), tags
//! response throttle_time_ms i32 (v1+),
//!          groups [error_code i16, group_id str, group_state str, protocol_type str,
//!                  protocol_data str,
//!                  members [member_id str, group_instance_id nstr (v4+), client_id str,
//!                           client_host str, member_metadata bytes, member_assignment bytes,
//!                           tags],
//!                  authorized_operations i32 (v3+), tags], tags
//! ```

use bytes::Bytes;

use super::{DecodeError, Reader, Writer};

/// A DescribeGroups request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeGroupsRequest {
    /// Group ids.
    pub groups: Vec<String>,
    /// The client asked for each group's authorized operations (v3+).
    pub include_authorized_operations: bool,
}

/// Authorized operations of a group when nothing restricts them (no
/// authorizer): READ (3), DELETE (6), DESCRIBE (8), as a bit field.
pub const GROUP_OPERATIONS_ALL: i32 = (1 << 3) | (1 << 6) | (1 << 8);

impl DescribeGroupsRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let groups = r.array("groups", |r| r.str("group"))?;
        let include_authorized_operations =
            version >= 3 && r.bool("include_authorized_operations")?;
        r.tags()?;
        Ok(DescribeGroupsRequest {
            groups,
            include_authorized_operations,
        })
    }
}

/// A member in the description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedMember {
    /// Member id.
    pub member_id: String,
    /// Static id.
    pub group_instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Metadata of the chosen protocol.
    pub member_metadata: Bytes,
    /// Assignment.
    pub member_assignment: Bytes,
}

/// A group description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedGroup {
    /// Error code.
    pub error_code: i16,
    /// Group id.
    pub group_id: String,
    /// State name ("Dead" if unknown).
    pub group_state: String,
    /// Protocol type.
    pub protocol_type: String,
    /// Chosen protocol.
    pub protocol_data: String,
    /// Members.
    pub members: Vec<DescribedMember>,
}

/// Encodes a DescribeGroups response for `version`.
pub fn encode_response(w: &mut Writer, version: i16, groups: &[DescribedGroup]) {
    encode_response_with_ops(w, version, groups, i32::MIN);
}

/// Encodes a DescribeGroups response giving each group `authorized_operations`
/// (v3+; `i32::MIN` = not asked for, as Kafka sends).
pub fn encode_response_with_ops(
    w: &mut Writer,
    version: i16,
    groups: &[DescribedGroup],
    authorized_operations: i32,
) {
    if version >= 1 {
        w.i32(0);
    }
    w.array(groups, |w, g| {
        w.i16(g.error_code);
        w.str(&g.group_id);
        w.str(&g.group_state);
        w.str(&g.protocol_type);
        w.str(&g.protocol_data);
        w.array(&g.members, |w, m| {
            w.str(&m.member_id);
            if version >= 4 {
                w.nstr(m.group_instance_id.as_deref());
            }
            w.str(&m.client_id);
            w.str(&m.client_host);
            w.bytes(&m.member_metadata);
            w.bytes(&m.member_assignment);
            w.tags();
        });
        if version >= 3 {
            w.i32(authorized_operations);
        }
        w.tags();
    });
    w.tags();
}

impl DescribeGroupsRequest {
    /// Encodes the body of `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.array(&self.groups, |w, g| w.str(g));
        if version >= 3 {
            w.bool(self.include_authorized_operations);
        }
        w.tags();
    }
}

/// Decodes a DescribeGroups response body of `version` (the inverse of
/// [`encode_response`]); `group_instance_id` is `None` before v4.
pub fn decode_response(
    r: &mut Reader<'_>,
    version: i16,
) -> Result<Vec<DescribedGroup>, DecodeError> {
    if version >= 1 {
        r.i32("throttle_time_ms")?;
    }
    let groups = r.array("groups", |r| {
        let error_code = r.i16("error_code")?;
        let group_id = r.str("group_id")?;
        let group_state = r.str("group_state")?;
        let protocol_type = r.str("protocol_type")?;
        let protocol_data = r.str("protocol_data")?;
        let members = r.array("members", |r| {
            let member_id = r.str("member_id")?;
            let group_instance_id = if version >= 4 {
                r.nstr("group_instance_id")?
            } else {
                None
            };
            let m = DescribedMember {
                member_id,
                group_instance_id,
                client_id: r.str("client_id")?,
                client_host: r.str("client_host")?,
                member_metadata: r.bytes("member_metadata")?,
                member_assignment: r.bytes("member_assignment")?,
            };
            r.tags()?;
            Ok(m)
        })?;
        if version >= 3 {
            r.i32("authorized_operations")?;
        }
        r.tags()?;
        Ok(DescribedGroup {
            error_code,
            group_id,
            group_state,
            protocol_type,
            protocol_data,
            members,
        })
    })?;
    r.tags()?;
    Ok(groups)
}
