//! Round-trip property tests of the admin APIs (AlterConfigs,
//! IncrementalAlterConfigs, DescribeLogDirs, DeleteGroups, ElectLeaders,
//! partition reassignments, OffsetDelete, DescribeProducers) and of the
//! transaction APIs (AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
//! TxnOffsetCommit, DescribeTransactions, ListTransactions): for each
//! request and response, `decode(encode(x)) == x` with every byte consumed
//! at every advertised version, and whole frames through `decode_request`.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use rokka_protocols::kafka::add_offsets_to_txn::{self, AddOffsetsToTxnRequest};
use rokka_protocols::kafka::add_partitions_to_txn::{self, AddPartitionsToTxnRequest};
use rokka_protocols::kafka::alter_configs::*;
use rokka_protocols::kafka::alter_partition_reassignments::{self as apr, *};
use rokka_protocols::kafka::delete_groups::{self, *};
use rokka_protocols::kafka::describe_log_dirs::{self, *};
use rokka_protocols::kafka::describe_producers::{self, *};
use rokka_protocols::kafka::describe_transactions::{self as dt, *};
use rokka_protocols::kafka::elect_leaders::{self, *};
use rokka_protocols::kafka::end_txn::EndTxnRequest;
use rokka_protocols::kafka::incremental_alter_configs::IncrementalAlterConfigsRequest;
use rokka_protocols::kafka::list_partition_reassignments::{self as lpr, *};
use rokka_protocols::kafka::offset_delete::{self, *};
use rokka_protocols::kafka::request::{decode_request, encode_request, Request};
use rokka_protocols::kafka::txn_offset_commit::{TxnOffset, TxnOffsetCommitRequest};
use rokka_protocols::kafka::{
    alter_configs, is_flexible, support, ApiKey, DecodeError, Reader, RequestHeader, TopicErrors,
    TopicPartitions, Writer,
};

fn rt<T: PartialEq + std::fmt::Debug>(
    x: &T,
    flex: bool,
    enc: impl FnOnce(&T, &mut Writer),
    dec: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<(), TestCaseError> {
    let mut w = Writer::new(flex);
    enc(x, &mut w);
    let b: Bytes = w.to_bytes();
    let mut r = Reader::new(&b, 0, flex);
    let y = dec(&mut r).map_err(|e| TestCaseError::fail(format!("decode: {e}")))?;
    prop_assert_eq!(&y, x);
    prop_assert_eq!(r.remaining(), 0, "bytes left after decode");
    Ok(())
}

/// Every version of `key`, with its flexibility.
fn versions(key: ApiKey) -> impl Iterator<Item = (i16, bool)> {
    let s = support(key).expect("advertised");
    (s.min..=s.max).map(move |v| (v, is_flexible(key, v)))
}

/// Checks a whole request frame of every version through `decode_request`.
fn frame(req: &Request) -> Result<(), TestCaseError> {
    let key = req.api_key();
    for (v, flexible) in versions(key) {
        let mut h = RequestHeader {
            api_key: key,
            api_version: v,
            correlation_id: 7,
            client_id: Some("c".into()),
            body_offset: 0,
            flexible,
        };
        let mut w = Writer::new(false);
        h.encode(&mut w);
        h.body_offset = w.len();
        let f = encode_request(&h, req);
        let (h2, req2) = decode_request(&f).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(h2, h);
        prop_assert_eq!(&req2, req);
    }
    Ok(())
}

fn s() -> impl Strategy<Value = String> {
    "\\PC{0,6}"
}
fn ns() -> impl Strategy<Value = Option<String>> {
    of(s())
}
fn tps() -> impl Strategy<Value = Vec<TopicPartitions>> {
    vec(
        (s(), vec(any::<i32>(), 0..3))
            .prop_map(|(name, partitions)| TopicPartitions { name, partitions }),
        0..3,
    )
}
fn alter_req(incremental: bool) -> impl Strategy<Value = AlterConfigsRequest> {
    let op = if incremental { 0i8..4 } else { 0i8..1 };
    let cfg = (s(), op, ns()).prop_map(|(name, op, value)| AlterableConfig { name, op, value });
    let res = (any::<i8>(), s(), vec(cfg, 0..3)).prop_map(|(t, n, c)| AlterConfigsResource {
        resource_type: t,
        resource_name: n,
        configs: c,
    });
    (vec(res, 0..3), any::<bool>()).prop_map(|(resources, validate_only)| AlterConfigsRequest {
        resources,
        validate_only,
    })
}
fn alter_resp() -> impl Strategy<Value = Vec<AlterConfigsResult>> {
    vec(
        (any::<i16>(), ns(), any::<i8>(), s()).prop_map(|(c, m, t, n)| AlterConfigsResult {
            error_code: c,
            error_message: m,
            resource_type: t,
            resource_name: n,
        }),
        0..3,
    )
}
fn log_dirs() -> impl Strategy<Value = Vec<LogDir>> {
    let topic = (s(), vec((any::<i32>(), any::<i64>()), 0..3));
    vec(
        (
            any::<i16>(),
            s(),
            vec(topic, 0..3),
            any::<i64>(),
            any::<i64>(),
        )
            .prop_map(
                |(error_code, log_dir, topics, total_bytes, usable_bytes)| LogDir {
                    error_code,
                    log_dir,
                    topics,
                    total_bytes,
                    usable_bytes,
                },
            ),
        0..3,
    )
}
fn producers() -> impl Strategy<Value = Vec<(String, Vec<ProducersPartition>)>> {
    let st = (any::<i64>(), any::<i32>(), any::<i32>(), any::<i64>()).prop_map(|(a, b, c, d)| {
        ProducerState {
            producer_id: a,
            producer_epoch: b,
            last_sequence: c,
            last_timestamp: d,
        }
    });
    let part =
        (any::<i32>(), any::<i16>(), vec(st, 0..3)).prop_map(|(p, e, s)| ProducersPartition {
            partition_index: p,
            error_code: e,
            producers: s,
        });
    vec((s(), vec(part, 0..3)), 0..3)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn alter_configs_rt(req in alter_req(false), resp in alter_resp()) {
        for (v, flex) in versions(ApiKey::ALTER_CONFIGS) {
            rt(&req, flex, |x, w| x.encode(w, v), |r| AlterConfigsRequest::decode(r, v))?;
            rt(&resp, flex, |x, w| alter_configs::encode_response(w, v, x),
                |r| alter_configs::decode_response(r, v))?;
        }
        frame(&Request::AlterConfigs(req))?;
    }

    #[test]
    fn incremental_alter_configs_rt(req in alter_req(true), resp in alter_resp()) {
        let req = IncrementalAlterConfigsRequest(req);
        for (v, flex) in versions(ApiKey::INCREMENTAL_ALTER_CONFIGS) {
            rt(&req, flex, |x, w| x.encode(w, v),
                |r| IncrementalAlterConfigsRequest::decode(r, v))?;
            rt(&resp, flex, |x, w| alter_configs::encode_response(w, v, x),
                |r| alter_configs::decode_response(r, v))?;
        }
        frame(&Request::IncrementalAlterConfigs(req))?;
    }

    #[test]
    fn describe_log_dirs_rt(topics in of(tps()), dirs in log_dirs()) {
        let req = DescribeLogDirsRequest { topics };
        for (v, flex) in versions(ApiKey::DESCRIBE_LOG_DIRS) {
            rt(&req, flex, |x, w| x.encode(w, v), |r| DescribeLogDirsRequest::decode(r, v))?;
            let mut d = dirs.clone();
            if v < 4 {
                for x in &mut d {
                    (x.total_bytes, x.usable_bytes) = (-1, -1);
                }
            }
            rt(&d, flex, |x, w| describe_log_dirs::encode_response(w, v, x),
                |r| describe_log_dirs::decode_response(r, v))?;
        }
        frame(&Request::DescribeLogDirs(req))?;
    }

    #[test]
    fn delete_groups_rt(groups in vec(s(), 0..3), resp in vec((s(), any::<i16>()), 0..3)) {
        let req = DeleteGroupsRequest { groups };
        for (v, flex) in versions(ApiKey::DELETE_GROUPS) {
            rt(&req, flex, |x, w| x.encode(w, v), |r| DeleteGroupsRequest::decode(r, v))?;
            rt(&resp, flex, |x, w| delete_groups::encode_response(w, v, x),
                |r| delete_groups::decode_response(r, v))?;
        }
        frame(&Request::DeleteGroups(req))?;
    }

    #[test]
    fn elect_leaders_rt(et in any::<i8>(), tp in of(tps()), t in any::<i32>(), code in any::<i16>()) {
        for (v, flex) in versions(ApiKey::ELECT_LEADERS) {
            let req = ElectLeadersRequest {
                election_type: if v >= 1 { et } else { 0 },
                topic_partitions: tp.clone(),
                timeout_ms: t,
            };
            rt(&req, flex, |x, w| x.encode(w, v), |r| ElectLeadersRequest::decode(r, v))?;
            let parts = tp.clone().unwrap_or_default();
            let want: Vec<(String, Vec<(i32, i16)>)> = parts.iter()
                .map(|t| (t.name.clone(), t.partitions.iter().map(|p| (*p, code)).collect()))
                .collect();
            let results: elect_leaders::ElectionResults = parts.iter()
                .map(|t| (t.name.clone(),
                    t.partitions.iter().map(|p| (*p, code, "why".to_string())).collect()))
                .collect();
            let mut w = Writer::new(flex);
            elect_leaders::encode_response(&mut w, v, &results);
            let b = w.to_bytes();
            let mut r = Reader::new(&b, 0, flex);
            prop_assert_eq!(elect_leaders::decode_response(&mut r, v).unwrap(), want);
            prop_assert_eq!(r.remaining(), 0);
        }
    }

    #[test]
    fn reassignments_rt(tp in tps(), opt in of(tps()), t in any::<i32>(), code in any::<i16>()) {
        let req = AlterPartitionReassignmentsRequest { timeout_ms: t, topics: tp.clone() };
        rt(&req, true, |x, w| x.encode(w, 0), |r| AlterPartitionReassignmentsRequest::decode(r, 0))?;
        frame(&Request::AlterPartitionReassignments(req))?;
        let want: Vec<(String, Vec<(i32, i16)>)> = tp.iter()
            .map(|t| (t.name.clone(), t.partitions.iter().map(|p| (*p, code)).collect()))
            .collect();
        let mut w = Writer::new(true);
        apr::encode_response(&mut w, 0, &tp, code, "why");
        let b = w.to_bytes();
        let mut r = Reader::new(&b, 0, true);
        prop_assert_eq!(apr::decode_response(&mut r, 0).unwrap(), want);

        let req = ListPartitionReassignmentsRequest { timeout_ms: t, topics: opt };
        rt(&req, true, |x, w| x.encode(w, 0), |r| ListPartitionReassignmentsRequest::decode(r, 0))?;
        frame(&Request::ListPartitionReassignments(req))?;
        let mut w = Writer::new(true);
        lpr::encode_response(&mut w, 0, code);
        let b = w.to_bytes();
        let mut r = Reader::new(&b, 0, true);
        prop_assert_eq!(lpr::decode_response(&mut r, 0).unwrap(), (code, 0));
    }

    #[test]
    fn offset_delete_rt(g in s(), tp in tps(), code in any::<i16>(),
                        res in vec((s(), vec((any::<i32>(), any::<i16>()), 0..3)), 0..3)) {
        let req = OffsetDeleteRequest { group_id: g, topics: tp };
        rt(&req, false, |x, w| x.encode(w, 0), |r| OffsetDeleteRequest::decode(r, 0))?;
        frame(&Request::OffsetDelete(req))?;
        let topics: Vec<OffsetDeleteTopicResult> = res.into_iter()
            .map(|(name, partitions)| OffsetDeleteTopicResult { name, partitions })
            .collect();
        let x = (code, topics);
        rt(&x, false, |x, w| offset_delete::encode_response(w, 0, x.0, &x.1),
            |r| offset_delete::decode_response(r, 0))?;
    }

    #[test]
    fn describe_producers_rt(tp in tps(), resp in producers()) {
        let req = DescribeProducersRequest { topics: tp };
        rt(&req, true, |x, w| x.encode(w, 0), |r| DescribeProducersRequest::decode(r, 0))?;
        frame(&Request::DescribeProducers(req))?;
        rt(&resp, true, |x, w| describe_producers::encode_response(w, 0, x),
            |r| describe_producers::decode_response(r, 0))?;
    }
}

// ---- transactions ----------------------------------------------------------

fn list<T: Strategy>(t: T) -> impl Strategy<Value = Vec<T::Value>> {
    vec(t, 0..3)
}
fn topic_errors() -> impl Strategy<Value = TopicErrors> {
    list((s(), list((any::<i32>(), any::<i16>()))))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn add_partitions(id in s(), pid: i64, epoch: i16, t in tps(), res in topic_errors()) {
        let req = AddPartitionsToTxnRequest { transactional_id: id, producer_id: pid, producer_epoch: epoch, topics: t };
        frame(&Request::AddPartitionsToTxn(req.clone()))?;
        for (v, flex) in versions(ApiKey::ADD_PARTITIONS_TO_TXN) {
            rt(&req, flex, |x, w| x.encode(w, v), |r| AddPartitionsToTxnRequest::decode(r, v))?;
            rt(&res, flex, |x, w| add_partitions_to_txn::encode_response(w, v, x),
                |r| add_partitions_to_txn::decode_response(r, v))?;
        }
    }

    #[test]
    fn add_offsets_and_end_txn(id in s(), g in s(), pid: i64, epoch: i16, commit: bool, code: i16) {
        let req = AddOffsetsToTxnRequest { transactional_id: id.clone(), producer_id: pid, producer_epoch: epoch, group_id: g };
        frame(&Request::AddOffsetsToTxn(req.clone()))?;
        for (v, flex) in versions(ApiKey::ADD_OFFSETS_TO_TXN) {
            rt(&req, flex, |x, w| x.encode(w, v), |r| AddOffsetsToTxnRequest::decode(r, v))?;
            rt(&code, flex, |x, w| add_offsets_to_txn::encode_error_response(w, *x),
                add_offsets_to_txn::decode_error_response)?;
        }
        let req = EndTxnRequest { transactional_id: id, producer_id: pid, producer_epoch: epoch, committed: commit };
        frame(&Request::EndTxn(req.clone()))?;
        for (v, flex) in versions(ApiKey::END_TXN) {
            rt(&req, flex, |x, w| x.encode(w, v), |r| EndTxnRequest::decode(r, v))?;
            rt(&code, flex, |x, w| add_offsets_to_txn::encode_error_response(w, *x),
                add_offsets_to_txn::decode_error_response)?;
        }
    }

    #[test]
    fn txn_offset_commit(id in s(), g in s(), m in s(), pid: i64, epoch: i16, gen: i32,
        offs in list((s(), list((any::<i32>(), any::<i64>(), of(s()))))), res in topic_errors()) {
        for (v, flex) in versions(ApiKey::TXN_OFFSET_COMMIT) {
            let req = TxnOffsetCommitRequest {
                transactional_id: id.clone(), group_id: g.clone(), producer_id: pid, producer_epoch: epoch,
                generation_id: if v >= 3 { gen } else { -1 },
                member_id: if v >= 3 { m.clone() } else { String::new() },
                topics: offs.iter().map(|(t, ps)| (t.clone(), ps.iter().map(|(p, o, md)| TxnOffset {
                    partition_index: *p, committed_offset: *o, committed_metadata: md.clone() }).collect())).collect(),
            };
            rt(&req, flex, |x, w| x.encode(w, v), |r| TxnOffsetCommitRequest::decode(r, v))?;
            if v == 0 {
                frame(&Request::TxnOffsetCommit(req.clone()))?; // no v3 fields: every version
            }
            rt(&res, flex, |x, w| add_partitions_to_txn::encode_response(w, v, x),
                |r| add_partitions_to_txn::decode_response(r, v))?;
        }
    }

    #[test]
    fn describe_and_list(ids in list(s()), states in list(s()), pids in list(any::<i64>()),
        d in list((any::<i16>(), s(), s(), any::<i32>(), any::<i64>(), any::<i64>(), any::<i16>(), tps())),
        l in list((s(), any::<i64>(), s()))) {
        rt(&ids, true, |x, w| encode_describe_request(w, x), decode_describe_request)?;
        frame(&Request::DescribeTransactions(ids.clone()))?;
        let d: Vec<TransactionDescription> = d.into_iter().map(|(error_code, transactional_id, state, timeout_ms, start_time_ms, producer_id, producer_epoch, topics)|
            TransactionDescription { error_code, transactional_id, state, timeout_ms, start_time_ms, producer_id, producer_epoch, topics }).collect();
        rt(&d, true, |x, w| encode_describe_response(w, x), decode_describe_response)?;
        let req = ListTransactionsRequest { state_filters: states.clone(), producer_id_filters: pids };
        rt(&req, true, |x, w| x.encode(w), ListTransactionsRequest::decode)?;
        frame(&Request::ListTransactions(req.clone()))?;
        let resp = (states, l);
        rt(&resp, true, |x, w| dt::encode_list_response(w, &x.0, &x.1), dt::decode_list_response)?;
    }
}
