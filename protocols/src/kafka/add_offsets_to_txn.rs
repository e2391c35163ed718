//! AddOffsetsToTxn (key 25), versions 0–3 (v3 flexible).
//!
//! ```text
//! request  transactional_id str, producer_id i64, producer_epoch i16, group_id str, tags
//! response throttle_time_ms i32, error_code i16, tags
//! ```

use super::{DecodeError, Reader, Writer};

/// An AddOffsetsToTxn request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddOffsetsToTxnRequest {
    /// Transactional id.
    pub transactional_id: String,
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// The consumer group whose offsets join the transaction.
    pub group_id: String,
}

impl AddOffsetsToTxnRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        let req = AddOffsetsToTxnRequest {
            transactional_id: r.str("transactional_id")?,
            producer_id: r.i64("producer_id")?,
            producer_epoch: r.i16("producer_epoch")?,
            group_id: r.str("group_id")?,
        };
        r.tags()?;
        Ok(req)
    }

    /// Encodes the body of `version` (the inverse of [`Self::decode`]).
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        w.str(&self.transactional_id);
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        w.str(&self.group_id);
        w.tags();
    }
}

/// Encodes the response body (also EndTxn's: the same two fields).
pub fn encode_error_response(w: &mut Writer, error_code: i16) {
    w.i32(0);
    w.i16(error_code);
    w.tags();
}

/// Decodes a response body of [`encode_error_response`]'s shape.
pub fn decode_error_response(r: &mut Reader<'_>) -> Result<i16, DecodeError> {
    r.i32("throttle_time_ms")?;
    let code = r.i16("error_code")?;
    r.tags()?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let req = AddOffsetsToTxnRequest {
            transactional_id: "tx".into(),
            producer_id: 1,
            producer_epoch: 0,
            group_id: "g".into(),
        };
        for (v, flex) in [(0, false), (3, true)] {
            let mut w = Writer::new(flex);
            req.encode(&mut w, v);
            let b = w.to_bytes();
            assert_eq!(
                AddOffsetsToTxnRequest::decode(&mut Reader::new(&b, 0, flex), v).as_ref(),
                Ok(&req)
            );
            let mut w = Writer::new(flex);
            encode_error_response(&mut w, 51);
            let b = w.to_bytes();
            assert_eq!(decode_error_response(&mut Reader::new(&b, 0, flex)), Ok(51));
        }
    }
}
