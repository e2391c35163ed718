//! Transactions in the log: control batches (COMMIT / ABORT markers) as
//! Kafka writes them into each partition, and the records of
//! `__transaction_state` (rokka's layout, ADR 014).
//!
//! ```text
//! control batch  v2 batch, attributes 0x30 (transactional | control), producer id/epoch,
//!                base sequence -1, one record: key = version i16 0, type i16 (0 abort, 1 commit);
//!                value = version i16 0, coordinator_epoch i32
//! state key      version i16 0, transactional_id str           (Kafka's TransactionLogKey v0)
//! state value    Kafka's TransactionLogValue v0: producer_id i64, producer_epoch i16,
//!                timeout_ms i32, status i8, partitions nullable [topic str, partition_ids [i32]],
//!                last_update_ms i64, start_ms i64;
//!                then rokka's extension: ext_version i16 1, start_offsets [i64] (one per
//!                partition, in order), groups [str], pending_offsets [group str, topic str,
//!                partition i32, offset i64, metadata nstr]
//! aborted key    version i16 100, topic str, partition i32, producer_id i64, first_offset i64
//! aborted value  version i16 0, last_offset i64
//! ```
//! All strings are classic (i16 length), arrays i32-counted.

use bytes::{BufMut, Bytes, BytesMut};

use super::records::{build_v2_batch, with_producer, Record};
use super::{DecodeError, Reader, Writer};

/// Batch attribute: the batch belongs to a transaction.
pub const ATTR_TRANSACTIONAL: i16 = 0x10;
/// Batch attribute: the batch is a control batch.
pub const ATTR_CONTROL: i16 = 0x20;

/// Kafka's `TransactionLogKey` version.
const STATE_KEY_VERSION: i16 = 0;
/// rokka's key version for an aborted-transaction index entry.
const ABORTED_KEY_VERSION: i16 = 100;
/// rokka's extension version after the Kafka value fields.
const EXT_VERSION: i16 = 1;

/// (attributes, producer id, producer epoch) of a v2 batch header.
pub fn batch_producer(batch: &[u8]) -> Option<(i16, i64, i16)> {
    let attrs = i16::from_be_bytes(batch.get(21..23)?.try_into().ok()?);
    let pid = i64::from_be_bytes(batch.get(43..51)?.try_into().ok()?);
    let epoch = i16::from_be_bytes(batch.get(51..53)?.try_into().ok()?);
    Some((attrs, pid, epoch))
}

/// A COMMIT (`commit`) or ABORT marker batch of one record for producer
/// `pid` at `epoch`, stamped `now_ms`; the store sets its base offset.
pub fn control_batch(
    pid: i64,
    epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
    now_ms: i64,
) -> Bytes {
    let mut key = BytesMut::with_capacity(4);
    key.put_i16(0);
    key.put_i16(i16::from(commit));
    let mut value = BytesMut::with_capacity(6);
    value.put_i16(0);
    value.put_i32(coordinator_epoch);
    let rec = Record {
        timestamp: now_ms,
        key: Some(key.freeze()),
        value: Some(value.freeze()),
        headers: Vec::new(),
    };
    let mut b = BytesMut::from(&build_v2_batch(0, &[rec])[..]);
    if let Some(s) = b.get_mut(21..23) {
        s.copy_from_slice(&(ATTR_TRANSACTIONAL | ATTR_CONTROL).to_be_bytes());
    }
    // Sets producer id, epoch and sequence and recomputes the CRC.
    with_producer(&b, pid, epoch, -1)
}

/// A transaction's state, as Kafka numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnStatus {
    /// No transaction.
    Empty,
    /// Partitions added, not ended.
    Ongoing,
    /// Commit decided, markers being written.
    PrepareCommit,
    /// Abort decided, markers being written.
    PrepareAbort,
    /// Committed.
    CompleteCommit,
    /// Aborted.
    CompleteAbort,
}

impl TxnStatus {
    /// Kafka's number.
    pub fn code(self) -> i8 {
        match self {
            TxnStatus::Empty => 0,
            TxnStatus::Ongoing => 1,
            TxnStatus::PrepareCommit => 2,
            TxnStatus::PrepareAbort => 3,
            TxnStatus::CompleteCommit => 4,
            TxnStatus::CompleteAbort => 5,
        }
    }
    /// From Kafka's number.
    pub fn from_code(c: i8) -> Option<TxnStatus> {
        Some(match c {
            0 => TxnStatus::Empty,
            1 => TxnStatus::Ongoing,
            2 => TxnStatus::PrepareCommit,
            3 => TxnStatus::PrepareAbort,
            4 => TxnStatus::CompleteCommit,
            5 => TxnStatus::CompleteAbort,
            _ => return None,
        })
    }
    /// The name Kafka's admin APIs use.
    pub fn name(self) -> &'static str {
        match self {
            TxnStatus::Empty => "Empty",
            TxnStatus::Ongoing => "Ongoing",
            TxnStatus::PrepareCommit => "PrepareCommit",
            TxnStatus::PrepareAbort => "PrepareAbort",
            TxnStatus::CompleteCommit => "CompleteCommit",
            TxnStatus::CompleteAbort => "CompleteAbort",
        }
    }
    /// Every state, for ListTransactions filters.
    pub const ALL: [TxnStatus; 6] = [
        TxnStatus::Empty,
        TxnStatus::Ongoing,
        TxnStatus::PrepareCommit,
        TxnStatus::PrepareAbort,
        TxnStatus::CompleteCommit,
        TxnStatus::CompleteAbort,
    ];
}

/// An offset waiting in a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOffset {
    /// Group.
    pub group: String,
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Metadata.
    pub metadata: Option<String>,
}

/// One transactional id's state record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnStateValue {
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Transaction timeout, ms.
    pub timeout_ms: i32,
    /// State.
    pub status: TxnStatus,
    /// Partitions in the transaction with the log end offset each had when
    /// added (a lower bound of the transaction's first offset there).
    pub partitions: Vec<(String, i32, i64)>,
    /// Last change, ms.
    pub last_update_ms: i64,
    /// Transaction start, ms (-1 if none).
    pub start_ms: i64,
    /// Groups added with AddOffsetsToTxn.
    pub groups: Vec<String>,
    /// Offsets committed in the transaction.
    pub pending_offsets: Vec<PendingOffset>,
}

/// A `__transaction_state` record key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnLogKey {
    /// A transactional id's state.
    State(String),
    /// An aborted transaction of one partition: (topic, partition,
    /// producer id, first offset).
    Aborted(String, i32, i64, i64),
}

impl TxnLogKey {
    /// Encodes the key.
    pub fn encode(&self) -> Bytes {
        let mut w = Writer::new(false);
        match self {
            TxnLogKey::State(id) => {
                w.i16(STATE_KEY_VERSION);
                w.str(id);
            }
            TxnLogKey::Aborted(topic, p, pid, first) => {
                w.i16(ABORTED_KEY_VERSION);
                w.str(topic);
                w.i32(*p);
                w.i64(*pid);
                w.i64(*first);
            }
        }
        w.to_bytes()
    }

    /// Decodes a key.
    pub fn decode(b: &Bytes) -> Result<TxnLogKey, DecodeError> {
        let mut r = Reader::new(b, 0, false);
        match r.i16("key version")? {
            STATE_KEY_VERSION => Ok(TxnLogKey::State(r.str("transactional_id")?)),
            ABORTED_KEY_VERSION => Ok(TxnLogKey::Aborted(
                r.str("topic")?,
                r.i32("partition")?,
                r.i64("producer_id")?,
                r.i64("first_offset")?,
            )),
            _ => Err(DecodeError::Invalid {
                field: "key version",
            }),
        }
    }
}

/// Encodes an aborted entry's value: its last offset (the marker's).
pub fn encode_aborted_value(last_offset: i64) -> Bytes {
    let mut w = Writer::new(false);
    w.i16(0);
    w.i64(last_offset);
    w.to_bytes()
}

/// Decodes an aborted entry's value.
pub fn decode_aborted_value(b: &Bytes) -> Result<i64, DecodeError> {
    let mut r = Reader::new(b, 0, false);
    r.i16("value version")?;
    r.i64("last_offset")
}

impl TxnStateValue {
    /// Encodes the value.
    pub fn encode(&self) -> Bytes {
        let mut w = Writer::new(false);
        w.i16(0);
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        w.i32(self.timeout_ms);
        w.i8(self.status.code());
        let mut topics: Vec<(&str, Vec<i32>)> = Vec::new();
        for (t, p, _) in &self.partitions {
            match topics.iter_mut().find(|(n, _)| n == t) {
                Some((_, ps)) => ps.push(*p),
                None => topics.push((t, vec![*p])),
            }
        }
        w.array(&topics, |w, (t, ps)| {
            w.str(t);
            w.array(ps, |w, p| w.i32(*p));
        });
        w.i64(self.last_update_ms);
        w.i64(self.start_ms);
        w.i16(EXT_VERSION);
        // Start offsets in the order the topics array lists partitions.
        let starts: Vec<i64> = topics
            .iter()
            .flat_map(|(t, ps)| {
                ps.iter().map(move |p| {
                    self.partitions
                        .iter()
                        .find(|(n, q, _)| n == t && q == p)
                        .map_or(0, |x| x.2)
                })
            })
            .collect();
        w.array(&starts, |w, s| w.i64(*s));
        w.array(&self.groups, |w, g| w.str(g));
        w.array(&self.pending_offsets, |w, o| {
            w.str(&o.group);
            w.str(&o.topic);
            w.i32(o.partition);
            w.i64(o.offset);
            w.nstr(o.metadata.as_deref());
        });
        w.to_bytes()
    }

    /// Decodes a value (a Kafka v0 value without rokka's extension has no
    /// start offsets, groups or pending offsets).
    pub fn decode(b: &Bytes) -> Result<TxnStateValue, DecodeError> {
        let mut r = Reader::new(b, 0, false);
        if r.i16("value version")? != 0 {
            return Err(DecodeError::Invalid {
                field: "value version",
            });
        }
        let producer_id = r.i64("producer_id")?;
        let producer_epoch = r.i16("producer_epoch")?;
        let timeout_ms = r.i32("timeout_ms")?;
        let status = TxnStatus::from_code(r.i8("status")?).ok_or(DecodeError::Invalid {
            field: "transaction status",
        })?;
        let topics = r
            .narray("partitions", |r| {
                Ok((
                    r.str("topic")?,
                    r.array("partition_ids", |r| r.i32("partition"))?,
                ))
            })?
            .unwrap_or_default();
        let last_update_ms = r.i64("last_update_ms")?;
        let start_ms = r.i64("start_ms")?;
        let mut v = TxnStateValue {
            producer_id,
            producer_epoch,
            timeout_ms,
            status,
            partitions: topics
                .iter()
                .flat_map(|(t, ps)| ps.iter().map(|p| (t.clone(), *p, 0)))
                .collect(),
            last_update_ms,
            start_ms,
            groups: Vec::new(),
            pending_offsets: Vec::new(),
        };
        if r.remaining() == 0 {
            return Ok(v);
        }
        r.i16("ext_version")?;
        let starts = r.array("start_offsets", |r| r.i64("start_offset"))?;
        for (p, s) in v.partitions.iter_mut().zip(starts) {
            p.2 = s;
        }
        v.groups = r.array("groups", |r| r.str("group"))?;
        v.pending_offsets = r.array("pending_offsets", |r| {
            Ok(PendingOffset {
                group: r.str("group")?,
                topic: r.str("topic")?,
                partition: r.i32("partition")?,
                offset: r.i64("offset")?,
                metadata: r.nstr("metadata")?,
            })
        })?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::records::{decode_v2_records, validate_v2};

    #[test]
    fn control_batch_is_a_valid_marker() {
        let b = control_batch(42, 3, true, 0, 1_000);
        let v = validate_v2(&b).expect("valid batch");
        assert_eq!(
            (v.producer_id, v.producer_epoch, v.base_sequence, v.count),
            (42, 3, -1, 1)
        );
        assert_eq!(batch_producer(&b), Some((0x30, 42, 3)));
        let recs = decode_v2_records(&b).expect("records");
        assert_eq!(recs[0].key.as_deref(), Some(&[0u8, 0, 0, 1][..]));
        assert_eq!(recs[0].value.as_deref(), Some(&[0u8, 0, 0, 0, 0, 0][..]));
        let abort = control_batch(42, 3, false, 0, 1_000);
        let recs = decode_v2_records(&abort).expect("records");
        assert_eq!(recs[0].key.as_deref(), Some(&[0u8, 0, 0, 0][..]));
    }

    #[test]
    fn state_records_round_trip() {
        let v = TxnStateValue {
            producer_id: 9,
            producer_epoch: 2,
            timeout_ms: 60_000,
            status: TxnStatus::PrepareCommit,
            partitions: vec![
                ("a".into(), 1, 10),
                ("b".into(), 0, 20),
                ("a".into(), 0, 30),
            ],
            last_update_ms: 5,
            start_ms: 4,
            groups: vec!["g".into()],
            pending_offsets: vec![PendingOffset {
                group: "g".into(),
                topic: "in".into(),
                partition: 0,
                offset: 7,
                metadata: None,
            }],
        };
        let got = TxnStateValue::decode(&v.encode()).expect("decodes");
        // Partitions come back grouped by topic, each with its start offset.
        let mut want = v.clone();
        want.partitions = vec![
            ("a".into(), 1, 10),
            ("a".into(), 0, 30),
            ("b".into(), 0, 20),
        ];
        assert_eq!(got, want);
        for k in [
            TxnLogKey::State("tx".into()),
            TxnLogKey::Aborted("t".into(), 3, 9, 100),
        ] {
            assert_eq!(TxnLogKey::decode(&k.encode()), Ok(k));
        }
        assert_eq!(decode_aborted_value(&encode_aborted_value(77)), Ok(77));
        assert!(TxnLogKey::decode(&Bytes::from_static(&[0, 9])).is_err());
    }
}
