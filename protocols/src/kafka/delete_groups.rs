//! DeleteGroups (key 42), versions 0–2 (v2 flexible).
//!
//! ```text
//! request  groups_names [str], tags
//! response throttle_time_ms i32, results [group_id str, error_code i16, tags], tags
//! ```

use super::{DecodeError, Reader, Writer};

/// A DeleteGroups request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteGroupsRequest {
    /// Groups to delete.
    pub groups: Vec<String>,
}

impl DeleteGroupsRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        let groups = r.array("groups_names", |r| r.str("group"))?;
        r.tags()?;
        Ok(DeleteGroupsRequest { groups })
    }

    /// Encodes the body of `version`.
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        w.array(&self.groups, |w, g| w.str(g));
        w.tags();
    }
}

/// Encodes a DeleteGroups response: (group id, error code) per group.
pub fn encode_response(w: &mut Writer, _version: i16, results: &[(String, i16)]) {
    w.i32(0);
    w.array(results, |w, (g, code)| {
        w.str(g);
        w.i16(*code);
        w.tags();
    });
    w.tags();
}

/// Decodes a DeleteGroups response (the inverse of [`encode_response`]).
pub fn decode_response(
    r: &mut Reader<'_>,
    _version: i16,
) -> Result<Vec<(String, i16)>, DecodeError> {
    r.i32("throttle_time_ms")?;
    let results = r.array("results", |r| {
        let x = (r.str("group_id")?, r.i16("error_code")?);
        r.tags()?;
        Ok(x)
    })?;
    r.tags()?;
    Ok(results)
}
