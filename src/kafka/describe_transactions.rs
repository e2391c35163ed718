//! DescribeTransactions and ListTransactions handlers (v0): the
//! coordinator's table, as `kafka-transactions.sh describe` / `list` show it.

use rokka_protocols::kafka::describe_transactions::{
    decode_describe_request, encode_describe_response, encode_list_response,
    ListTransactionsRequest, TransactionDescription,
};
use rokka_protocols::kafka::txn_log::TxnStatus;
use rokka_protocols::kafka::{error_code, TopicPartitions, Writer};

use super::request::{CloseReason, Request};
use super::KafkaContext;

/// Handles DescribeTransactions v0.
pub fn describe(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let ids = decode_describe_request(&mut req.reader()).map_err(|e| req.bad_body(e))?;
    let all = ctx.txn.snapshot();
    let states: Vec<TransactionDescription> = ids
        .into_iter()
        .map(|id| match all.iter().find(|(k, _)| *k == id) {
            None => TransactionDescription {
                error_code: error_code::TRANSACTIONAL_ID_NOT_FOUND,
                transactional_id: id,
                state: String::new(),
                timeout_ms: 0,
                start_time_ms: -1,
                producer_id: -1,
                producer_epoch: -1,
                topics: Vec::new(),
            },
            Some((_, s)) => {
                let mut topics: Vec<TopicPartitions> = Vec::new();
                for (t, p, _) in &s.partitions {
                    match topics.iter_mut().find(|x| x.name == *t) {
                        Some(x) => x.partitions.push(*p),
                        None => topics.push(TopicPartitions {
                            name: t.clone(),
                            partitions: vec![*p],
                        }),
                    }
                }
                TransactionDescription {
                    error_code: error_code::NONE,
                    transactional_id: id,
                    state: s.status.name().to_string(),
                    timeout_ms: s.timeout_ms,
                    start_time_ms: s.start_ms,
                    producer_id: s.producer_id,
                    producer_epoch: s.producer_epoch,
                    topics,
                }
            }
        })
        .collect();
    let mut w = req.writer();
    encode_describe_response(&mut w, &states);
    Ok(w)
}

/// Handles ListTransactions v0.
pub fn list(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let l = ListTransactionsRequest::decode(&mut req.reader()).map_err(|e| req.bad_body(e))?;
    let unknown: Vec<String> = l
        .state_filters
        .iter()
        .filter(|f| !TxnStatus::ALL.iter().any(|s| s.name() == f.as_str()))
        .cloned()
        .collect();
    let txns: Vec<(String, i64, String)> = ctx
        .txn
        .snapshot()
        .into_iter()
        .filter(|(_, s)| {
            l.state_filters.is_empty() || l.state_filters.iter().any(|f| f == s.status.name())
        })
        .filter(|(_, s)| {
            l.producer_id_filters.is_empty() || l.producer_id_filters.contains(&s.producer_id)
        })
        .map(|(id, s)| (id, s.producer_id, s.status.name().to_string()))
        .collect();
    let mut w = req.writer();
    encode_list_response(&mut w, &unknown, &txns);
    Ok(w)
}
