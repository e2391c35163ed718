//! AddPartitionsToTxn (key 24), versions 0–3 (v3 flexible): the client
//! form. v4+ (batched, VerifyOnly) is used broker-to-broker and is not
//! advertised.
//!
//! ```text
//! request  transactional_id str, producer_id i64, producer_epoch i16,
//!          topics [name str, partitions [i32], tags], tags
//! response throttle_time_ms i32,
//!          results [name str, results [partition_index i32, error_code i16, tags], tags], tags
//! ```

use super::{DecodeError, Reader, TopicErrors, TopicPartitions, Writer};

/// An AddPartitionsToTxn request (v0–3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPartitionsToTxnRequest {
    /// Transactional id.
    pub transactional_id: String,
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Partitions to add.
    pub topics: Vec<TopicPartitions>,
}

impl AddPartitionsToTxnRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        let req = AddPartitionsToTxnRequest {
            transactional_id: r.str("transactional_id")?,
            producer_id: r.i64("producer_id")?,
            producer_epoch: r.i16("producer_epoch")?,
            topics: r.array("topics", TopicPartitions::read)?,
        };
        r.tags()?;
        Ok(req)
    }

    /// Encodes the body of `version` (the inverse of [`Self::decode`]).
    pub fn encode(&self, w: &mut Writer, _version: i16) {
        w.str(&self.transactional_id);
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        w.array(&self.topics, |w, t| t.write(w));
        w.tags();
    }
}

/// Encodes a response: per topic, (partition, error code).
pub fn encode_response(w: &mut Writer, _version: i16, results: &TopicErrors) {
    w.i32(0);
    w.array(results, |w, (name, parts)| {
        w.str(name);
        w.array(parts, |w, (p, code)| {
            w.i32(*p);
            w.i16(*code);
            w.tags();
        });
        w.tags();
    });
    w.tags();
}

/// Decodes a response (the inverse of [`encode_response`]).
pub fn decode_response(r: &mut Reader<'_>, _version: i16) -> Result<TopicErrors, DecodeError> {
    r.i32("throttle_time_ms")?;
    let out = r.array("results", |r| {
        let name = r.str("name")?;
        let parts = r.array("results_by_partition", |r| {
            let p = (r.i32("partition_index")?, r.i16("error_code")?);
            r.tags()?;
            Ok(p)
        })?;
        r.tags()?;
        Ok((name, parts))
    })?;
    r.tags()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn round_trips_classic_and_flexible() {
        let req = AddPartitionsToTxnRequest {
            transactional_id: "tx".into(),
            producer_id: 7,
            producer_epoch: 2,
            topics: vec![TopicPartitions {
                name: "t".into(),
                partitions: vec![0, 3],
            }],
        };
        for (v, flex) in [(0, false), (3, true)] {
            let mut w = Writer::new(flex);
            req.encode(&mut w, v);
            let b = w.to_bytes();
            let got = AddPartitionsToTxnRequest::decode(&mut Reader::new(&b, 0, flex), v);
            assert_eq!(got.as_ref(), Ok(&req));
            let results: TopicErrors = vec![("t".into(), vec![(0, 0), (3, 51)])];
            let mut w = Writer::new(flex);
            encode_response(&mut w, v, &results);
            let b: Bytes = w.to_bytes();
            assert_eq!(
                decode_response(&mut Reader::new(&b, 0, flex), v),
                Ok(results)
            );
        }
    }
}
