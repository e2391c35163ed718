//! SaslAuthenticate (key 36), versions 0–2 (v2 flexible); one SASL token
//! each way. `session_lifetime_ms` (v1+) tells the client when to
//! re-authenticate (KIP-368); 0 means never.
//!
//! ```text
//! request  auth_bytes bytes, tags
//! response error_code i16, error_message nstr, auth_bytes bytes,
//!          session_lifetime_ms i64 (v1+), tags
//! ```

use bytes::Bytes;

use super::{DecodeError, Reader, Writer};

/// Decodes the client's token.
pub fn decode_request(r: &mut Reader<'_>, _version: i16) -> Result<Bytes, DecodeError> {
    let token = r.bytes("auth_bytes")?;
    r.tags()?;
    Ok(token)
}

/// Encodes a request (tests and tools).
pub fn encode_request(w: &mut Writer, _version: i16, token: &[u8]) {
    w.bytes(token);
    w.tags();
}

/// A SaslAuthenticate response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslAuthenticateResponse {
    /// 0, or SASL_AUTHENTICATION_FAILED (58), ILLEGAL_SASL_STATE (34), ...
    pub error_code: i16,
    /// Why it failed (never a secret).
    pub error_message: Option<String>,
    /// The server's token.
    pub auth_bytes: Bytes,
    /// Milliseconds until the session expires (v1+); 0 = no limit.
    pub session_lifetime_ms: i64,
}

impl SaslAuthenticateResponse {
    /// Encodes the body of `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.i16(self.error_code);
        w.nstr(self.error_message.as_deref());
        w.bytes(&self.auth_bytes);
        if version >= 1 {
            w.i64(self.session_lifetime_ms);
        }
        w.tags();
    }

    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let error_code = r.i16("error_code")?;
        let error_message = r.nstr("error_message")?;
        let auth_bytes = r.bytes("auth_bytes")?;
        let session_lifetime_ms = if version >= 1 {
            r.i64("session_lifetime_ms")?
        } else {
            0
        };
        r.tags()?;
        Ok(SaslAuthenticateResponse {
            error_code,
            error_message,
            auth_bytes,
            session_lifetime_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_round_trips_every_version() {
        for v in 0..=2 {
            let resp = SaslAuthenticateResponse {
                error_code: 58,
                error_message: Some("no".into()),
                auth_bytes: Bytes::from_static(b"v=abc"),
                session_lifetime_ms: if v >= 1 { 60_000 } else { 0 },
            };
            let mut w = Writer::new(v >= 2);
            resp.encode(&mut w, v);
            let frame = w.to_bytes();
            let mut r = Reader::new(&frame, 0, v >= 2);
            assert_eq!(SaslAuthenticateResponse::decode(&mut r, v).unwrap(), resp);
            let mut w = Writer::new(v >= 2);
            encode_request(&mut w, v, b"\0u\0p");
            let frame = w.to_bytes();
            let mut r = Reader::new(&frame, 0, v >= 2);
            assert_eq!(&decode_request(&mut r, v).unwrap()[..], b"\0u\0p");
        }
    }
}
