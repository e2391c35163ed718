//! SaslHandshake (key 17), versions 0–1 (never flexible). v0 is followed by
//! raw SASL tokens (size-prefixed, no Kafka header); v1 by SaslAuthenticate.
//!
//! ```text
//! request  mechanism str
//! response error_code i16, mechanisms [str]
//! ```

use super::{DecodeError, Reader, Writer};

/// Decodes the requested mechanism.
pub fn decode_request(r: &mut Reader<'_>, _version: i16) -> Result<String, DecodeError> {
    r.str("mechanism")
}

/// Encodes a request (tests and tools).
pub fn encode_request(w: &mut Writer, _version: i16, mechanism: &str) {
    w.str(mechanism);
}

/// Encodes the response: an error code and the enabled mechanisms.
pub fn encode_response(w: &mut Writer, _version: i16, error_code: i16, mechanisms: &[&str]) {
    w.i16(error_code);
    w.array(mechanisms, |w, m| w.str(m));
}

/// Decodes a response (the inverse of [`encode_response`]).
pub fn decode_response(
    r: &mut Reader<'_>,
    _version: i16,
) -> Result<(i16, Vec<String>), DecodeError> {
    Ok((
        r.i16("error_code")?,
        r.array("mechanisms", |r| r.str("mechanism"))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut w = Writer::new(false);
        encode_response(&mut w, 1, 33, &["PLAIN", "SCRAM-SHA-256"]);
        let frame = w.to_bytes();
        let mut r = Reader::new(&frame, 0, false);
        assert_eq!(
            decode_response(&mut r, 1).unwrap(),
            (33, vec!["PLAIN".to_string(), "SCRAM-SHA-256".to_string()])
        );
        let mut w = Writer::new(false);
        encode_request(&mut w, 0, "PLAIN");
        let frame = w.to_bytes();
        assert_eq!(
            decode_request(&mut Reader::new(&frame, 0, false), 0).unwrap(),
            "PLAIN"
        );
    }
}
