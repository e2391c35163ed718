//! ApiVersions (key 18), versions 0–4 (v4 is wire-identical to v3) (§1.5 of kafka-subset.md).
//!
//! ```text
//! request  v0-2: empty   v3: client_software_name str, client_software_version str, tags
//! response error_code i16, api_keys [api_key i16, min i16, max i16 (tags v3)],
//!          throttle_time_ms i32 (v1+), tags (v3)
//! ```
//! The response header is always v0. An unknown version gets a v0 body with
//! `UNSUPPORTED_VERSION` and the single entry `{18, 0, max}`.

use super::{error_code, ApiKey, ApiSupport, DecodeError, Reader, Writer, SUPPORTED};

/// Newest ApiVersions version supported.
pub const MAX_VERSION: i16 = 4;

/// An ApiVersions request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiVersionsRequest {
    /// Client software name (v3+).
    pub client_software_name: String,
    /// Client software version (v3+).
    pub client_software_version: String,
}

impl ApiVersionsRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let mut req = ApiVersionsRequest::default();
        if version >= 3 {
            req.client_software_name = r.str("client_software_name")?;
            req.client_software_version = r.str("client_software_version")?;
            r.tags()?;
        }
        Ok(req)
    }
}

/// An ApiVersions response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersionsResponse {
    /// Error code.
    pub error_code: i16,
    /// Supported APIs.
    pub api_keys: Vec<ApiSupport>,
}

impl ApiVersionsResponse {
    /// The normal answer: every API in [`SUPPORTED`].
    pub fn supported() -> Self {
        ApiVersionsResponse {
            error_code: error_code::NONE,
            api_keys: SUPPORTED.to_vec(),
        }
    }

    /// The answer to a version newer than [`MAX_VERSION`] (encode it as v0).
    pub fn unsupported_version() -> Self {
        ApiVersionsResponse {
            error_code: error_code::UNSUPPORTED_VERSION,
            api_keys: vec![ApiSupport {
                key: ApiKey::API_VERSIONS,
                min: 0,
                max: MAX_VERSION,
                flex: 3,
            }],
        }
    }

    /// Encodes the body for `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.flex = version >= 3;
        w.i16(self.error_code);
        w.array(&self.api_keys, |w, k| {
            w.i16(k.key.0);
            w.i16(k.min);
            w.i16(k.max);
            w.tags();
        });
        if version >= 1 {
            w.i32(0);
        }
        w.tags();
    }
}

impl ApiVersionsRequest {
    /// Encodes the body of `version` (the inverse of [`Self::decode`]).
    pub fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 3 {
            w.str(&self.client_software_name);
            w.str(&self.client_software_version);
            w.tags();
        }
    }
}

impl ApiVersionsResponse {
    /// Decodes the body of `version` (the inverse of [`Self::encode`]; sets
    /// `r.flex` the same way). `flex` is not on the wire: it is taken from
    /// [`SUPPORTED`] for keys rokka knows and is `i16::MAX` for the others.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        r.flex = version >= 3;
        let error_code = r.i16("error_code")?;
        let api_keys = r.array("api_keys", |r| {
            let key = ApiKey(r.i16("api_key")?);
            let min = r.i16("min_version")?;
            let max = r.i16("max_version")?;
            r.tags()?;
            let flex = super::support(key).map_or(i16::MAX, |s| s.flex);
            Ok(ApiSupport {
                key,
                min,
                max,
                flex,
            })
        })?;
        if version >= 1 {
            r.i32("throttle_time_ms")?;
        }
        r.tags()?;
        Ok(ApiVersionsResponse {
            error_code,
            api_keys,
        })
    }
}
