//! DescribeTransactions (key 65), version 0 (flexible), and ListTransactions
//! (key 66), version 0 (flexible): the admin view of the transaction
//! coordinator.
//!
//! ```text
//! DescribeTransactions
//! request  transactional_ids [str], tags
//! response throttle_time_ms i32, transaction_states [error_code i16, transactional_id str,
//!          transaction_state str, transaction_timeout_ms i32, transaction_start_time_ms i64,
//!          producer_id i64, producer_epoch i16, topics [topic str, partitions [i32], tags], tags], tags
//! ListTransactions
//! request  state_filters [str], producer_id_filters [i64], tags
//! response throttle_time_ms i32, error_code i16, unknown_state_filters [str],
//!          transaction_states [transactional_id str, producer_id i64, transaction_state str, tags], tags
//! ```

use super::{DecodeError, Reader, TopicPartitions, Writer};

/// One transactional id's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionDescription {
    /// Error code (TRANSACTIONAL_ID_NOT_FOUND if unknown).
    pub error_code: i16,
    /// Transactional id.
    pub transactional_id: String,
    /// State name as Kafka spells it (`Ongoing`, `CompleteCommit`, ...).
    pub state: String,
    /// Timeout, ms.
    pub timeout_ms: i32,
    /// Start of the current transaction, ms (-1 if none).
    pub start_time_ms: i64,
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Partitions in the transaction.
    pub topics: Vec<TopicPartitions>,
}

/// Decodes a DescribeTransactions request: the transactional ids.
pub fn decode_describe_request(r: &mut Reader<'_>) -> Result<Vec<String>, DecodeError> {
    let ids = r.array("transactional_ids", |r| r.str("transactional_id"))?;
    r.tags()?;
    Ok(ids)
}

/// Encodes a DescribeTransactions request.
pub fn encode_describe_request(w: &mut Writer, ids: &[String]) {
    w.array(ids, |w, id| w.str(id));
    w.tags();
}

/// Encodes a DescribeTransactions response.
pub fn encode_describe_response(w: &mut Writer, states: &[TransactionDescription]) {
    w.i32(0);
    w.array(states, |w, s| {
        w.i16(s.error_code);
        w.str(&s.transactional_id);
        w.str(&s.state);
        w.i32(s.timeout_ms);
        w.i64(s.start_time_ms);
        w.i64(s.producer_id);
        w.i16(s.producer_epoch);
        w.array(&s.topics, |w, t| t.write(w));
        w.tags();
    });
    w.tags();
}

/// Decodes a DescribeTransactions response.
pub fn decode_describe_response(
    r: &mut Reader<'_>,
) -> Result<Vec<TransactionDescription>, DecodeError> {
    r.i32("throttle_time_ms")?;
    let out = r.array("transaction_states", |r| {
        let d = TransactionDescription {
            error_code: r.i16("error_code")?,
            transactional_id: r.str("transactional_id")?,
            state: r.str("transaction_state")?,
            timeout_ms: r.i32("transaction_timeout_ms")?,
            start_time_ms: r.i64("transaction_start_time_ms")?,
            producer_id: r.i64("producer_id")?,
            producer_epoch: r.i16("producer_epoch")?,
            topics: r.array("topics", TopicPartitions::read)?,
        };
        r.tags()?;
        Ok(d)
    })?;
    r.tags()?;
    Ok(out)
}

/// A ListTransactions request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListTransactionsRequest {
    /// States to list (empty = all).
    pub state_filters: Vec<String>,
    /// Producer ids to list (empty = all).
    pub producer_id_filters: Vec<i64>,
}

impl ListTransactionsRequest {
    /// Decodes the body.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let req = ListTransactionsRequest {
            state_filters: r.array("state_filters", |r| r.str("state"))?,
            producer_id_filters: r.array("producer_id_filters", |r| r.i64("producer_id"))?,
        };
        r.tags()?;
        Ok(req)
    }

    /// Encodes the body.
    pub fn encode(&self, w: &mut Writer) {
        w.array(&self.state_filters, |w, s| w.str(s));
        w.array(&self.producer_id_filters, |w, p| w.i64(*p));
        w.tags();
    }
}

/// One listed transaction: (transactional id, producer id, state).
pub type ListedTransaction = (String, i64, String);

/// Encodes a ListTransactions response.
pub fn encode_list_response(w: &mut Writer, unknown_states: &[String], txns: &[ListedTransaction]) {
    w.i32(0);
    w.i16(0);
    w.array(unknown_states, |w, s| w.str(s));
    w.array(txns, |w, (id, pid, state)| {
        w.str(id);
        w.i64(*pid);
        w.str(state);
        w.tags();
    });
    w.tags();
}

/// Decodes a ListTransactions response: (unknown states, transactions).
pub fn decode_list_response(
    r: &mut Reader<'_>,
) -> Result<(Vec<String>, Vec<ListedTransaction>), DecodeError> {
    r.i32("throttle_time_ms")?;
    r.i16("error_code")?;
    let unknown = r.array("unknown_state_filters", |r| r.str("state"))?;
    let txns = r.array("transaction_states", |r| {
        let t = (
            r.str("transactional_id")?,
            r.i64("producer_id")?,
            r.str("transaction_state")?,
        );
        r.tags()?;
        Ok(t)
    })?;
    r.tags()?;
    Ok((unknown, txns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_and_list_round_trip() {
        let d = TransactionDescription {
            error_code: 0,
            transactional_id: "tx".into(),
            state: "Ongoing".into(),
            timeout_ms: 60_000,
            start_time_ms: 5,
            producer_id: 7,
            producer_epoch: 1,
            topics: vec![TopicPartitions {
                name: "t".into(),
                partitions: vec![1],
            }],
        };
        let mut w = Writer::new(true);
        encode_describe_response(&mut w, std::slice::from_ref(&d));
        let b = w.to_bytes();
        assert_eq!(
            decode_describe_response(&mut Reader::new(&b, 0, true)),
            Ok(vec![d])
        );
        let req = ListTransactionsRequest {
            state_filters: vec!["Ongoing".into()],
            producer_id_filters: vec![7],
        };
        let mut w = Writer::new(true);
        req.encode(&mut w);
        let b = w.to_bytes();
        assert_eq!(
            ListTransactionsRequest::decode(&mut Reader::new(&b, 0, true)),
            Ok(req)
        );
        let txns = vec![("tx".to_string(), 7, "Ongoing".to_string())];
        let mut w = Writer::new(true);
        encode_list_response(&mut w, &["Bogus".to_string()], &txns);
        let b = w.to_bytes();
        assert_eq!(
            decode_list_response(&mut Reader::new(&b, 0, true)),
            Ok((vec!["Bogus".to_string()], txns))
        );
    }
}
