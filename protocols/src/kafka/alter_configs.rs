//! AlterConfigs (key 33), versions 0–2 (v2 flexible): replaces every
//! dynamic config of a resource with the ones given.
//!
//! ```text
//! request  resources [resource_type i8, resource_name str,
//!                     configs [name str, value nstr, tags], tags],
//!          validate_only bool, tags
//! response throttle_time_ms i32,
//!          responses [error_code i16, error_message nstr, resource_type i8,
//!                     resource_name str, tags], tags
//! ```
//!
//! IncrementalAlterConfigs (key 44) shares the resource and response types.

use super::{DecodeError, Reader, Writer};

/// `config_operation` of IncrementalAlterConfigs: set the value.
pub const OP_SET: i8 = 0;
/// Remove the override (back to the default).
pub const OP_DELETE: i8 = 1;
/// Append to a list value.
pub const OP_APPEND: i8 = 2;
/// Remove from a list value.
pub const OP_SUBTRACT: i8 = 3;

/// One config to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterableConfig {
    /// Config name.
    pub name: String,
    /// [`OP_SET`] ... (always [`OP_SET`] for AlterConfigs).
    pub op: i8,
    /// New value.
    pub value: Option<String>,
}

/// One resource's changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterConfigsResource {
    /// Resource type (2 topic, 4 broker, 8 broker logger).
    pub resource_type: i8,
    /// Topic name or broker id ("" = the cluster default).
    pub resource_name: String,
    /// Configs.
    pub configs: Vec<AlterableConfig>,
}

/// An AlterConfigs or IncrementalAlterConfigs request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterConfigsRequest {
    /// Resources.
    pub resources: Vec<AlterConfigsResource>,
    /// Only validate.
    pub validate_only: bool,
}

impl AlterConfigsRequest {
    /// Decodes the body; `incremental` reads each config's operation.
    pub fn decode_body(r: &mut Reader<'_>, incremental: bool) -> Result<Self, DecodeError> {
        let resources = r.array("resources", |r| {
            let resource_type = r.i8("resource_type")?;
            let resource_name = r.str("resource_name")?;
            let configs = r.array("configs", |r| {
                let name = r.str("name")?;
                let op = if incremental {
                    r.i8("config_operation")?
                } else {
                    OP_SET
                };
                let value = r.nstr("value")?;
                r.tags()?;
                Ok(AlterableConfig { name, op, value })
            })?;
            r.tags()?;
            Ok(AlterConfigsResource {
                resource_type,
                resource_name,
                configs,
            })
        })?;
        let validate_only = r.bool("validate_only")?;
        r.tags()?;
        Ok(AlterConfigsRequest {
            resources,
            validate_only,
        })
    }

    /// Decodes an AlterConfigs body of `version`.
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        Self::decode_body(r, false)
    }

    /// Encodes the body (the inverse of [`Self::decode_body`]).
    pub fn encode_body(&self, w: &mut Writer, incremental: bool) {
        w.array(&self.resources, |w, res| {
            w.i8(res.resource_type);
            w.str(&res.resource_name);
            w.array(&res.configs, |w, c| {
                w.str(&c.name);
                if incremental {
                    w.i8(c.op);
                }
                w.nstr(c.value.as_deref());
                w.tags();
            });
            w.tags();
        });
        w.bool(self.validate_only);
        w.tags();
    }

    /// Encodes an AlterConfigs body of `version`.
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        self.encode_body(w, false);
    }
}

/// One resource's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterConfigsResult {
    /// Error code.
    pub error_code: i16,
    /// Error message.
    pub error_message: Option<String>,
    /// Resource type.
    pub resource_type: i8,
    /// Resource name.
    pub resource_name: String,
}

/// Encodes an AlterConfigs / IncrementalAlterConfigs response.
pub fn encode_response(w: &mut Writer, _version: i16, results: &[AlterConfigsResult]) {
    w.i32(0);
    w.array(results, |w, r| {
        w.i16(r.error_code);
        w.nstr(r.error_message.as_deref());
        w.i8(r.resource_type);
        w.str(&r.resource_name);
        w.tags();
    });
    w.tags();
}

/// Decodes a response (the inverse of [`encode_response`]).
pub fn decode_response(
    r: &mut Reader<'_>,
    _version: i16,
) -> Result<Vec<AlterConfigsResult>, DecodeError> {
    r.i32("throttle_time_ms")?;
    let results = r.array("responses", |r| {
        let x = AlterConfigsResult {
            error_code: r.i16("error_code")?,
            error_message: r.nstr("error_message")?,
            resource_type: r.i8("resource_type")?,
            resource_name: r.str("resource_name")?,
        };
        r.tags()?;
        Ok(x)
    })?;
    r.tags()?;
    Ok(results)
}
