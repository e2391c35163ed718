//! InitProducerId (key 22), versions 0–4 (v2+ flexible), for idempotent
//! (non-transactional) producers.
//!
//! ```text
//! request  transactional_id nstr, transaction_timeout_ms i32,
//!          producer_id i64 (v3+), producer_epoch i16 (v3+), tags
//! response throttle_time_ms i32, error_code i16, producer_id i64, producer_epoch i16, tags
//! ```

use super::{DecodeError, Reader, Writer};

/// An InitProducerId request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitProducerIdRequest {
    /// Transactional id (null for idempotent-only producers).
    pub transactional_id: Option<String>,
    /// Transaction timeout.
    pub transaction_timeout_ms: i32,
    /// Current producer id (v3+, -1 if none).
    pub producer_id: i64,
    /// Current producer epoch (v3+, -1 if none).
    pub producer_epoch: i16,
}

impl InitProducerIdRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let transactional_id = r.nstr("transactional_id")?;
        let transaction_timeout_ms = r.i32("transaction_timeout_ms")?;
        let (mut producer_id, mut producer_epoch) = (-1, -1);
        if version >= 3 {
            producer_id = r.i64("producer_id")?;
            producer_epoch = r.i16("producer_epoch")?;
        }
        r.tags()?;
        Ok(InitProducerIdRequest {
            transactional_id,
            transaction_timeout_ms,
            producer_id,
            producer_epoch,
        })
    }
}

/// An InitProducerId response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitProducerIdResponse {
    /// Error code.
    pub error_code: i16,
    /// Assigned producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
}

impl InitProducerIdResponse {
    /// Encodes the body.
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(0);
        w.i16(self.error_code);
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        w.tags();
    }
}

impl InitProducerIdRequest {
    /// Encodes the body of `version` (the inverse of [`Self::decode`]).
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.nstr(self.transactional_id.as_deref());
        w.i32(self.transaction_timeout_ms);
        if version >= 3 {
            w.i64(self.producer_id);
            w.i16(self.producer_epoch);
        }
        w.tags();
    }
}

impl InitProducerIdResponse {
    /// Decodes the body (the inverse of [`Self::encode`]).
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        r.i32("throttle_time_ms")?;
        let resp = InitProducerIdResponse {
            error_code: r.i16("error_code")?,
            producer_id: r.i64("producer_id")?,
            producer_epoch: r.i16("producer_epoch")?,
        };
        r.tags()?;
        Ok(resp)
    }
}
