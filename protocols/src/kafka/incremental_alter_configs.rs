//! IncrementalAlterConfigs (key 44), versions 0–1 (v1 flexible): set,
//! delete, append to or subtract from single configs of a resource.
//!
//! ```text
//! request  resources [resource_type i8, resource_name str,
//!                     configs [name str, config_operation i8, value nstr, tags], tags],
//!          validate_only bool, tags
//! response as AlterConfigs (alter_configs.rs)
//! ```

use super::alter_configs::AlterConfigsRequest;
use super::{DecodeError, Reader, Writer};

/// An IncrementalAlterConfigs request (the AlterConfigs shape with operations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncrementalAlterConfigsRequest(pub AlterConfigsRequest);

impl IncrementalAlterConfigsRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        AlterConfigsRequest::decode_body(r, true).map(IncrementalAlterConfigsRequest)
    }

    /// Encodes the body of `version`.
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        self.0.encode_body(w, true);
    }
}

pub use super::alter_configs::{decode_response, encode_response};
