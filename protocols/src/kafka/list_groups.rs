//! ListGroups (key 16), versions 0–5 (v3+ flexible). Every group rokka
//! holds is a classic group (v5 `group_type`).
//!
//! ```text
//! request  states_filter [str] (v4+), types_filter [str] (v5+), tags
//! response throttle_time_ms i32 (v1+), error_code i16,
//!          groups [group_id str, protocol_type str, group_state str (v4+),
//!                  group_type str (v5+), tags], tags
//! ```

use super::{DecodeError, Reader, Writer};

/// A ListGroups request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListGroupsRequest {
    /// Only groups in these states (v4+; empty = all).
    pub states_filter: Vec<String>,
    /// Only groups of these types (v5+; empty = all).
    pub types_filter: Vec<String>,
}

/// The group type of every group rokka lists (v5+).
pub const GROUP_TYPE_CLASSIC: &str = "classic";

impl ListGroupsRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let states_filter = if version >= 4 {
            r.array("states_filter", |r| r.str("state"))?
        } else {
            Vec::new()
        };
        let types_filter = if version >= 5 {
            r.array("types_filter", |r| r.str("type"))?
        } else {
            Vec::new()
        };
        r.tags()?;
        Ok(ListGroupsRequest {
            states_filter,
            types_filter,
        })
    }
}

/// A listed group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    /// Group id.
    pub group_id: String,
    /// Protocol type ("consumer", or "" for offset-only groups).
    pub protocol_type: String,
    /// State name (Empty, PreparingRebalance, CompletingRebalance, Stable).
    pub group_state: String,
}

/// Encodes a ListGroups response for `version`.
pub fn encode_response(w: &mut Writer, version: i16, groups: &[ListedGroup]) {
    if version >= 1 {
        w.i32(0);
    }
    w.i16(0);
    w.array(groups, |w, g| {
        w.str(&g.group_id);
        w.str(&g.protocol_type);
        if version >= 4 {
            w.str(&g.group_state);
        }
        if version >= 5 {
            w.str(GROUP_TYPE_CLASSIC);
        }
        w.tags();
    });
    w.tags();
}

impl ListGroupsRequest {
    /// Encodes the body of `version` (the inverse of [`Self::decode`]).
    pub fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 4 {
            w.array(&self.states_filter, |w, s| w.str(s));
        }
        if version >= 5 {
            w.array(&self.types_filter, |w, s| w.str(s));
        }
        w.tags();
    }
}

/// Decodes a ListGroups response body of `version` (the inverse of
/// [`encode_response`], whose top-level error code is always 0 and is
/// dropped here); `group_state` is "" before v4.
pub fn decode_response(r: &mut Reader<'_>, version: i16) -> Result<Vec<ListedGroup>, DecodeError> {
    if version >= 1 {
        r.i32("throttle_time_ms")?;
    }
    r.i16("error_code")?;
    let groups = r.array("groups", |r| {
        let group_id = r.str("group_id")?;
        let protocol_type = r.str("protocol_type")?;
        let group_state = if version >= 4 {
            r.str("group_state")?
        } else {
            String::new()
        };
        if version >= 5 {
            r.str("group_type")?;
        }
        r.tags()?;
        Ok(ListedGroup {
            group_id,
            protocol_type,
            group_state,
        })
    })?;
    r.tags()?;
    Ok(groups)
}
