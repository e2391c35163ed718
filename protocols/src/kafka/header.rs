//! Request and response headers (§1.3 of kafka-subset.md).
//!
//! ```text
//! request v1: api_key i16 | api_version i16 | correlation_id i32 | client_id nstr(i16 len)
//! request v2: v1 + tagged fields
//! response v0: correlation_id i32      response v1: v0 + tagged fields
//! ```
//!
//! Request header v2 goes with flexible API versions; ApiVersions v3+ uses it
//! too, but its response header is always v0.

use bytes::Bytes;

use super::{is_flexible, ApiKey, DecodeError, Reader, Writer};

/// A parsed request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// The API.
    pub api_key: ApiKey,
    /// The API version.
    pub api_version: i16,
    /// Echoed in the response.
    pub correlation_id: i32,
    /// The client's id (null reads as `None`).
    pub client_id: Option<String>,
    /// Where the body starts in the frame.
    pub body_offset: usize,
    /// True if the body uses the flexible encoding.
    pub flexible: bool,
}

/// Parses the request header at the start of `frame` (the size prefix
/// already removed). An unknown API or version still parses (v1 header), so
/// the caller can answer or close as Kafka does.
pub fn parse_request_header(frame: &Bytes) -> Result<RequestHeader, DecodeError> {
    let mut r = Reader::new(frame, 0, false);
    let api_key = ApiKey(r.i16("api_key")?);
    let api_version = r.i16("api_version")?;
    let correlation_id = r.i32("correlation_id")?;
    let client_id = r.nstr("client_id")?;
    // ApiVersions v3+ (even versions we don't know) arrives with header v2.
    let flexible = if api_key == ApiKey::API_VERSIONS {
        api_version >= 3
    } else {
        is_flexible(api_key, api_version)
    };
    if flexible {
        r.flex = true;
        r.tags()?;
    }
    Ok(RequestHeader {
        api_key,
        api_version,
        correlation_id,
        client_id,
        body_offset: r.position(),
        flexible,
    })
}

impl RequestHeader {
    /// Encodes the header: v2 (with an empty tagged-field section) when
    /// `flexible`, else v1. `client_id` keeps the classic i16-length
    /// encoding in both, as the schema says; `body_offset` is not on the wire.
    pub fn encode(&self, w: &mut Writer) {
        let flex = std::mem::replace(&mut w.flex, false);
        w.i16(self.api_key.0);
        w.i16(self.api_version);
        w.i32(self.correlation_id);
        w.nstr(self.client_id.as_deref());
        if self.flexible {
            w.uvarint(0);
        }
        w.flex = flex;
    }
}

/// A response header: v1 (with tags) when `flexible`, else v0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHeader {
    /// The request's correlation id.
    pub correlation_id: i32,
    /// Header v1 (adds an empty tagged-field section).
    pub flexible: bool,
}

impl ResponseHeader {
    /// The header for a response to `req` (ApiVersions: always v0).
    pub fn for_request(req: &RequestHeader) -> ResponseHeader {
        ResponseHeader {
            correlation_id: req.correlation_id,
            flexible: req.flexible && req.api_key != ApiKey::API_VERSIONS,
        }
    }

    /// Encodes the header.
    pub fn encode(&self, w: &mut super::Writer) {
        w.i32(self.correlation_id);
        if self.flexible {
            w.uvarint(0);
        }
    }

    /// Decodes a header: v1 (tags skipped) when `flexible`, else v0.
    pub fn decode(r: &mut Reader<'_>, flexible: bool) -> Result<ResponseHeader, DecodeError> {
        let correlation_id = r.i32("correlation_id")?;
        if flexible {
            let flex = std::mem::replace(&mut r.flex, true);
            let tags = r.tags();
            r.flex = flex;
            tags?;
        }
        Ok(ResponseHeader {
            correlation_id,
            flexible,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_v3_uses_header_v2() {
        let mut f = vec![0, 18, 0, 3, 0, 0, 0, 7, 0, 1, b'x', 0];
        f.extend_from_slice(&[2, b'a', 2, b'1', 0]);
        let h = parse_request_header(&Bytes::from(f)).unwrap();
        assert_eq!(h.correlation_id, 7);
        assert_eq!(h.client_id.as_deref(), Some("x"));
        assert!(h.flexible);
        assert_eq!(h.body_offset, 12);
        assert!(!ResponseHeader::for_request(&h).flexible);
    }

    #[test]
    fn truncated_header_fails() {
        assert!(parse_request_header(&Bytes::from_static(&[0, 3, 0])).is_err());
    }
}
