//! TxnOffsetCommit (key 28), versions 0–3 (v3 flexible): offsets that join
//! a transaction and reach the group only when it commits.
//!
//! ```text
//! request  transactional_id str, group_id str, producer_id i64, producer_epoch i16,
//!          generation_id i32 (v3+), member_id str (v3+), group_instance_id nstr (v3+),
//!          topics [name str, partitions [partition_index i32, committed_offset i64,
//!                  committed_leader_epoch i32 (v2+), committed_metadata nstr, tags], tags], tags
//! response throttle_time_ms i32,
//!          topics [name str, partitions [partition_index i32, error_code i16, tags], tags], tags
//! ```

use super::{DecodeError, Reader, TopicErrors, Writer};

/// One partition's offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOffset {
    /// Partition.
    pub partition_index: i32,
    /// Offset to commit.
    pub committed_offset: i64,
    /// Metadata string.
    pub committed_metadata: Option<String>,
}

/// A TxnOffsetCommit request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOffsetCommitRequest {
    /// Transactional id.
    pub transactional_id: String,
    /// Group.
    pub group_id: String,
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Consumer generation (v3+, -1 otherwise).
    pub generation_id: i32,
    /// Consumer member id (v3+, empty otherwise).
    pub member_id: String,
    /// Offsets per topic.
    pub topics: Vec<(String, Vec<TxnOffset>)>,
}

impl TxnOffsetCommitRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let transactional_id = r.str("transactional_id")?;
        let group_id = r.str("group_id")?;
        let producer_id = r.i64("producer_id")?;
        let producer_epoch = r.i16("producer_epoch")?;
        let (mut generation_id, mut member_id) = (-1, String::new());
        if version >= 3 {
            generation_id = r.i32("generation_id")?;
            member_id = r.str("member_id")?;
            r.nstr("group_instance_id")?;
        }
        let topics = r.array("topics", |r| {
            let name = r.str("name")?;
            let parts = r.array("partitions", |r| {
                let partition_index = r.i32("partition_index")?;
                let committed_offset = r.i64("committed_offset")?;
                if version >= 2 {
                    r.i32("committed_leader_epoch")?;
                }
                let committed_metadata = r.nstr("committed_metadata")?;
                r.tags()?;
                Ok(TxnOffset {
                    partition_index,
                    committed_offset,
                    committed_metadata,
                })
            })?;
            r.tags()?;
            Ok((name, parts))
        })?;
        r.tags()?;
        Ok(TxnOffsetCommitRequest {
            transactional_id,
            group_id,
            producer_id,
            producer_epoch,
            generation_id,
            member_id,
            topics,
        })
    }

    /// Encodes the body of `version` (the inverse of [`Self::decode`]; no
    /// group instance id, leader epoch -1).
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.str(&self.transactional_id);
        w.str(&self.group_id);
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        if version >= 3 {
            w.i32(self.generation_id);
            w.str(&self.member_id);
            w.nstr(None);
        }
        w.array(&self.topics, |w, (name, parts)| {
            w.str(name);
            w.array(parts, |w, p| {
                w.i32(p.partition_index);
                w.i64(p.committed_offset);
                if version >= 2 {
                    w.i32(-1);
                }
                w.nstr(p.committed_metadata.as_deref());
                w.tags();
            });
            w.tags();
        });
        w.tags();
    }
}

/// Encodes a response: per topic, (partition, error code). Same layout as
/// AddPartitionsToTxn v0–3.
pub fn encode_response(w: &mut Writer, version: i16, results: &TopicErrors) {
    super::add_partitions_to_txn::encode_response(w, version, results);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_version() {
        for (v, flex) in [(0, false), (2, false), (3, true)] {
            let req = TxnOffsetCommitRequest {
                transactional_id: "tx".into(),
                group_id: "g".into(),
                producer_id: 5,
                producer_epoch: 1,
                generation_id: if v >= 3 { 4 } else { -1 },
                member_id: if v >= 3 { "m".into() } else { String::new() },
                topics: vec![(
                    "in".into(),
                    vec![TxnOffset {
                        partition_index: 2,
                        committed_offset: 42,
                        committed_metadata: Some("meta".into()),
                    }],
                )],
            };
            let mut w = Writer::new(flex);
            req.encode(&mut w, v);
            let b = w.to_bytes();
            assert_eq!(
                TxnOffsetCommitRequest::decode(&mut Reader::new(&b, 0, flex), v).as_ref(),
                Ok(&req)
            );
        }
    }
}
