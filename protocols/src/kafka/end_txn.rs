//! EndTxn (key 26), versions 0–3 (v3 flexible). The response has
//! AddOffsetsToTxn's shape (`add_offsets_to_txn::encode_error_response`).
//!
//! ```text
//! request  transactional_id str, producer_id i64, producer_epoch i16, committed bool, tags
//! response throttle_time_ms i32, error_code i16, tags
//! ```

use super::{DecodeError, Reader, Writer};

/// An EndTxn request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndTxnRequest {
    /// Transactional id.
    pub transactional_id: String,
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Commit (true) or abort.
    pub committed: bool,
}

impl EndTxnRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        let req = EndTxnRequest {
            transactional_id: r.str("transactional_id")?,
            producer_id: r.i64("producer_id")?,
            producer_epoch: r.i16("producer_epoch")?,
            committed: r.bool("committed")?,
        };
        r.tags()?;
        Ok(req)
    }

    /// Encodes the body of `version` (the inverse of [`Self::decode`]).
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        w.str(&self.transactional_id);
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        w.bool(self.committed);
        w.tags();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let req = EndTxnRequest {
            transactional_id: "tx".into(),
            producer_id: 9,
            producer_epoch: 3,
            committed: true,
        };
        for (v, flex) in [(1, false), (3, true)] {
            let mut w = Writer::new(flex);
            req.encode(&mut w, v);
            let b = w.to_bytes();
            assert_eq!(
                EndTxnRequest::decode(&mut Reader::new(&b, 0, flex), v).as_ref(),
                Ok(&req)
            );
        }
    }
}
