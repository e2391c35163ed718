//! Round-trip property tests for every API and version in `SUPPORTED`:
//! for each request and response, `decode(encode(x)) == x` with every byte
//! consumed, at every advertised version. Each strategy generates a value
//! with all fields set; `at_*` then resets the fields a version lacks to
//! what the decoder gives for them (the schema defaults), so every case is
//! checked at every version. Also: request headers v1/v2, response headers
//! v0/v1, and whole request frames through `decode_request`.

use std::fmt::Debug;
use std::ops::RangeInclusive;

use bytes::Bytes;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use rokka_protocols::kafka::delete_records::{self, *};
use rokka_protocols::kafka::groups::{heartbeat, join_group::*, leave_group, sync_group::*};
use rokka_protocols::kafka::groups::{heartbeat::*, leave_group::*};
use rokka_protocols::kafka::header::parse_request_header;
use rokka_protocols::kafka::request::{decode_request, encode_request, Request};
use rokka_protocols::kafka::{api_versions::*, create_partitions::*, create_topics::*};
use rokka_protocols::kafka::{create_partitions, create_topics, delete_topics, describe_configs};
use rokka_protocols::kafka::{delete_topics::*, describe_cluster::*, describe_configs::*};
use rokka_protocols::kafka::{describe_groups, list_groups, offset_for_leader_epoch};
use rokka_protocols::kafka::{describe_groups::*, fetch::*, find_coordinator::*, list_groups::*};
use rokka_protocols::kafka::{init_producer_id::*, list_offsets::*, metadata::*, produce::*};
use rokka_protocols::kafka::{
    is_flexible, support, ApiKey, ApiSupport, DecodeError, Reader, RequestHeader, ResponseHeader,
    Writer, SUPPORTED,
};
use rokka_protocols::kafka::{offset_commit::*, offset_fetch::*, offset_for_leader_epoch::*};

// ---- helpers ---------------------------------------------------------------

fn versions(key: ApiKey) -> RangeInclusive<i16> {
    let s = support(key).expect("advertised");
    s.min..=s.max
}

/// Encodes `x` with `enc`, decodes it with `dec` and checks that the result
/// equals `x` and that the reader is exhausted.
fn rt<T: PartialEq + Debug>(
    x: &T,
    flex: bool,
    enc: impl FnOnce(&T, &mut Writer),
    dec: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<(), TestCaseError> {
    let mut w = Writer::new(flex);
    enc(x, &mut w);
    let b = w.to_bytes();
    let mut r = Reader::new(&b, 0, flex);
    let y = dec(&mut r).map_err(|e| TestCaseError::fail(format!("decode: {e}")))?;
    prop_assert_eq!(&y, x);
    prop_assert_eq!(r.remaining(), 0, "bytes left after decode");
    Ok(())
}

/// Round-trips a request and a response of `key` at every advertised
/// version, after `at_req`/`at_resp` fit them to the version.
macro_rules! check_api {
    ($key:expr, $req:expr, $resp:expr, $at_req:expr, $at_resp:expr,
     $dec_req:expr, $enc_resp:expr, $dec_resp:expr) => {{
        for v in versions($key) {
            let flex = is_flexible($key, v);
            let req = $at_req($req.clone(), v);
            rt(&req, flex, |x, w| x.encode(w, v), |r| $dec_req(r, v))?;
            let resp = $at_resp($resp.clone(), v);
            rt(&resp, flex, |x, w| $enc_resp(x, w, v), |r| $dec_resp(r, v))?;
        }
    }};
}

fn s() -> impl Strategy<Value = String> {
    "\\PC{0,6}"
}
fn ns() -> impl Strategy<Value = Option<String>> {
    of(s())
}
fn bytes(min: usize, max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), min..max).prop_map(Bytes::from)
}
fn uuid() -> impl Strategy<Value = [u8; 16]> {
    any::<[u8; 16]>()
}
fn list<T: Strategy>(t: T) -> impl Strategy<Value = Vec<T::Value>> {
    vec(t, 0..3)
}
/// `st! { T { field: strategy, .. } }`: a strategy of `T`, field by field.
macro_rules! st {
    ($t:ident { $($f:ident: $s:expr),* $(,)? }) => {
        ($($s,)*).prop_map(|($($f,)*)| $t { $($f),* })
    };
}

fn same<T>(x: T, _v: i16) -> T {
    x
}
/// v < `since`: `default`, else `x`.
fn since<T>(v: i16, since: i16, x: T, default: T) -> T {
    if v >= since {
        x
    } else {
        default
    }
}

// ---- Produce / Fetch / ListOffsets / Metadata ------------------------------

fn produce_req() -> impl Strategy<Value = ProduceRequest> {
    let part = st! { ProducePartition { index: any::<i32>(), records: bytes(0, 40) } };
    let topic = st! { ProduceTopic { name: s(), partitions: list(part) } };
    st! { ProduceRequest {
        transactional_id: ns(), acks: any::<i16>(), timeout_ms: any::<i32>(), topics: list(topic),
    } }
}
fn at_produce_req(mut x: ProduceRequest, v: i16) -> ProduceRequest {
    x.transactional_id = since(v, 3, x.transactional_id, None);
    x
}
fn produce_resp() -> impl Strategy<Value = ProduceResponse> {
    let part = st! { ProducePartitionResponse {
        index: any::<i32>(), error_code: any::<i16>(), base_offset: any::<i64>(),
        log_start_offset: any::<i64>(), log_append_time_ms: any::<i64>(),
    } };
    let topic = st! { ProduceTopicResponse { name: s(), partitions: list(part) } };
    st! { ProduceResponse { responses: list(topic) } }
}
fn at_produce_resp(mut x: ProduceResponse, v: i16) -> ProduceResponse {
    for p in x.responses.iter_mut().flat_map(|t| &mut t.partitions) {
        p.log_start_offset = since(v, 5, p.log_start_offset, -1);
        p.log_append_time_ms = since(v, 2, p.log_append_time_ms, -1);
    }
    x
}

fn fetch_req() -> impl Strategy<Value = FetchRequest> {
    let part = st! { FetchPartition {
        partition: any::<i32>(), fetch_offset: any::<i64>(), partition_max_bytes: any::<i32>(),
    } };
    let topic = st! { FetchTopic { topic: s(), partitions: list(part) } };
    st! { FetchRequest {
        max_wait_ms: any::<i32>(), min_bytes: any::<i32>(), max_bytes: any::<i32>(),
        isolation_level: 0..2i8, topics: list(topic),
    } }
}
fn at_fetch_req(x: FetchRequest, v: i16) -> FetchRequest {
    let max_bytes = since(v, 3, x.max_bytes, i32::MAX);
    let isolation_level = since(v, 4, x.isolation_level, 0);
    FetchRequest {
        max_bytes,
        isolation_level,
        ..x
    }
}
fn fetch_resp() -> impl Strategy<Value = FetchResponse> {
    // Records decode as one chunk (none if empty); some chunks are above
    // the Writer's 256-byte inline limit.
    let part = st! { FetchPartitionResponse {
        partition_index: any::<i32>(), error_code: any::<i16>(), high_watermark: any::<i64>(),
        last_stable_offset: any::<i64>(), log_start_offset: any::<i64>(),
        aborted_transactions: of(list((any::<i64>(), any::<i64>()))),
        records: of(bytes(1, 300)).prop_map(|b| b.into_iter().collect()),
    } };
    let topic = st! { FetchTopicResponse { topic: s(), partitions: list(part) } };
    st! { FetchResponse { error_code: any::<i16>(), responses: list(topic) } }
}
fn at_fetch_resp(mut x: FetchResponse, v: i16) -> FetchResponse {
    x.error_code = since(v, 7, x.error_code, 0);
    for p in x.responses.iter_mut().flat_map(|t| &mut t.partitions) {
        p.log_start_offset = since(v, 5, p.log_start_offset, -1);
        p.last_stable_offset = since(v, 4, p.last_stable_offset, p.high_watermark);
        p.aborted_transactions = since(v, 4, p.aborted_transactions.take(), None);
    }
    x
}

fn list_offsets_req() -> impl Strategy<Value = ListOffsetsRequest> {
    let part = st! { ListOffsetsPartition {
        partition_index: any::<i32>(), timestamp: any::<i64>(),
    } };
    let topic = st! { ListOffsetsTopic { name: s(), partitions: list(part) } };
    st! { ListOffsetsRequest { isolation_level: 0..2i8, topics: list(topic) } }
}
fn at_list_offsets_req(x: ListOffsetsRequest, v: i16) -> ListOffsetsRequest {
    ListOffsetsRequest {
        isolation_level: since(v, 2, x.isolation_level, 0),
        ..x
    }
}
fn list_offsets_resp() -> impl Strategy<Value = ListOffsetsResponse> {
    let part = st! { ListOffsetsPartitionResponse {
        partition_index: any::<i32>(), error_code: any::<i16>(), timestamp: any::<i64>(),
        offset: any::<i64>(), leader_epoch: any::<i32>(),
    } };
    let topic = st! { ListOffsetsTopicResponse { name: s(), partitions: list(part) } };
    st! { ListOffsetsResponse { topics: list(topic) } }
}
fn at_list_offsets_resp(mut x: ListOffsetsResponse, v: i16) -> ListOffsetsResponse {
    for p in x.topics.iter_mut().flat_map(|t| &mut t.partitions) {
        p.leader_epoch = since(v, 4, p.leader_epoch, -1);
        if v == 0 {
            // v0 has only a list of old-style offsets, empty when negative.
            p.timestamp = -1;
            p.offset = p.offset.max(-1);
        }
    }
    x
}

fn metadata_req() -> impl Strategy<Value = MetadataRequest> {
    let topic = st! { MetadataRequestTopic { topic_id: uuid(), name: ns() } };
    st! { MetadataRequest { topics: of(list(topic)), allow_auto_topic_creation: any::<bool>() } }
}
fn at_metadata_req(mut x: MetadataRequest, v: i16) -> MetadataRequest {
    for t in x.topics.iter_mut().flatten().filter(|_| v < 10) {
        t.topic_id = [0; 16];
        t.name = Some(t.name.take().unwrap_or_default());
    }
    if v == 0 && x.topics.as_ref().is_some_and(Vec::is_empty) {
        x.topics = None; // v0: an empty list means all topics
    }
    x.allow_auto_topic_creation = since(v, 4, x.allow_auto_topic_creation, true);
    x
}
fn metadata_resp() -> impl Strategy<Value = MetadataResponse> {
    let broker = st! { MetadataBroker { node_id: any::<i32>(), host: s(), port: any::<i32>() } };
    let part = st! { MetadataPartition {
        error_code: any::<i16>(), partition_index: any::<i32>(), leader_id: any::<i32>(),
        leader_epoch: any::<i32>(), replica_nodes: list(any::<i32>()),
        isr_nodes: list(any::<i32>()), offline_replicas: list(any::<i32>()),
    } };
    let topic = st! { MetadataTopic {
        error_code: any::<i16>(), name: ns(), topic_id: uuid(), partitions: list(part),
    } };
    st! { MetadataResponse {
        brokers: list(broker), cluster_id: s(), controller_id: any::<i32>(), topics: list(topic),
    } }
}
fn at_metadata_resp(mut x: MetadataResponse, v: i16) -> MetadataResponse {
    x.cluster_id = since(v, 2, x.cluster_id, String::new());
    x.controller_id = since(v, 1, x.controller_id, -1);
    for t in &mut x.topics {
        if v < 12 {
            t.name = Some(t.name.take().unwrap_or_default());
        }
        t.topic_id = since(v, 10, t.topic_id, [0; 16]);
        for p in &mut t.partitions {
            p.leader_epoch = since(v, 7, p.leader_epoch, -1);
            p.offline_replicas = since(v, 5, std::mem::take(&mut p.offline_replicas), Vec::new());
        }
    }
    x
}

// ---- offsets, coordinators, producer ids -----------------------------------

fn offset_commit_req() -> impl Strategy<Value = OffsetCommitRequest> {
    let part = st! { OffsetCommitPartition {
        partition_index: any::<i32>(), committed_offset: any::<i64>(), committed_metadata: ns(),
    } };
    let topic = st! { OffsetCommitTopic { name: s(), partitions: list(part) } };
    st! { OffsetCommitRequest {
        group_id: s(), generation_id: any::<i32>(), member_id: s(), topics: list(topic),
    } }
}
fn at_offset_commit_req(mut x: OffsetCommitRequest, v: i16) -> OffsetCommitRequest {
    x.generation_id = since(v, 1, x.generation_id, -1);
    x.member_id = since(v, 1, x.member_id, String::new());
    x
}
fn offset_commit_resp() -> impl Strategy<Value = OffsetCommitResponse> {
    let topic = st! { OffsetCommitTopicResponse {
        name: s(), partitions: list(any::<(i32, i16)>()),
    } };
    st! { OffsetCommitResponse { topics: list(topic) } }
}

fn offset_fetch_req() -> impl Strategy<Value = OffsetFetchRequest> {
    let topic = st! { OffsetFetchTopic { name: s(), partition_indexes: list(any::<i32>()) } };
    st! { OffsetFetchRequest { group_id: s(), topics: of(list(topic)) } }
}
fn at_offset_fetch_req(mut x: OffsetFetchRequest, v: i16) -> OffsetFetchRequest {
    if v < 2 {
        x.topics = Some(x.topics.unwrap_or_default()); // not nullable before v2
    }
    x
}
fn offset_fetch_resp() -> impl Strategy<Value = OffsetFetchResponse> {
    let part = st! { OffsetFetchPartition {
        partition_index: any::<i32>(), committed_offset: any::<i64>(), metadata: s(),
        error_code: any::<i16>(),
    } };
    let topic = st! { OffsetFetchTopicResponse { name: s(), partitions: list(part) } };
    st! { OffsetFetchResponse { topics: list(topic), error_code: any::<i16>() } }
}
fn at_offset_fetch_resp(mut x: OffsetFetchResponse, v: i16) -> OffsetFetchResponse {
    x.error_code = since(v, 2, x.error_code, 0);
    x
}

fn find_coordinator_req() -> impl Strategy<Value = FindCoordinatorRequest> {
    st! { FindCoordinatorRequest { keys: list(s()), key_type: any::<i8>() } }
}
fn at_find_coordinator_req(mut x: FindCoordinatorRequest, v: i16) -> FindCoordinatorRequest {
    if v < 4 {
        x.keys = vec![x.keys.into_iter().next().unwrap_or_default()];
    }
    x.key_type = since(v, 1, x.key_type, 0);
    x
}
fn find_coordinator_resp() -> impl Strategy<Value = FindCoordinatorResponse> {
    let c = st! { Coordinator {
        key: s(), error_code: any::<i16>(), node_id: any::<i32>(), host: s(), port: any::<i32>(),
    } };
    st! { FindCoordinatorResponse { coordinators: vec(c, 1..3) } }
}
fn at_find_coordinator_resp(mut x: FindCoordinatorResponse, v: i16) -> FindCoordinatorResponse {
    if v < 4 {
        // Exactly one coordinator, with no key on the wire.
        x.coordinators.truncate(1);
        for c in &mut x.coordinators {
            c.key = String::new();
        }
    }
    x
}

fn init_pid_req() -> impl Strategy<Value = InitProducerIdRequest> {
    st! { InitProducerIdRequest {
        transactional_id: ns(), transaction_timeout_ms: any::<i32>(), producer_id: any::<i64>(),
        producer_epoch: any::<i16>(),
    } }
}
fn at_init_pid_req(mut x: InitProducerIdRequest, v: i16) -> InitProducerIdRequest {
    x.producer_id = since(v, 3, x.producer_id, -1);
    x.producer_epoch = since(v, 3, x.producer_epoch, -1);
    x
}
fn init_pid_resp() -> impl Strategy<Value = InitProducerIdResponse> {
    st! { InitProducerIdResponse {
        error_code: any::<i16>(), producer_id: any::<i64>(), producer_epoch: any::<i16>(),
    } }
}

fn epoch_req() -> impl Strategy<Value = OffsetForLeaderEpochRequest> {
    let p = st! { EpochPartition {
        partition: any::<i32>(), current_leader_epoch: any::<i32>(), leader_epoch: any::<i32>(),
    } };
    st! { OffsetForLeaderEpochRequest { topics: list((s(), list(p))) } }
}
fn at_epoch_req(mut x: OffsetForLeaderEpochRequest, v: i16) -> OffsetForLeaderEpochRequest {
    for p in x.topics.iter_mut().flat_map(|(_, ps)| ps) {
        p.current_leader_epoch = since(v, 2, p.current_leader_epoch, -1);
    }
    x
}
type EpochResp = Vec<(String, Vec<EpochEndOffset>)>;
fn epoch_resp() -> impl Strategy<Value = EpochResp> {
    let p = st! { EpochEndOffset {
        error_code: any::<i16>(), partition: any::<i32>(), leader_epoch: any::<i32>(),
        end_offset: any::<i64>(),
    } };
    list((s(), list(p)))
}
fn at_epoch_resp(mut x: EpochResp, v: i16) -> EpochResp {
    for p in x.iter_mut().flat_map(|(_, ps)| ps) {
        p.leader_epoch = since(v, 1, p.leader_epoch, -1);
    }
    x
}

// ---- the group protocol ----------------------------------------------------

fn join_req() -> impl Strategy<Value = JoinGroupRequest> {
    st! { JoinGroupRequest {
        group_id: s(), session_timeout_ms: any::<i32>(), rebalance_timeout_ms: any::<i32>(),
        member_id: s(), group_instance_id: ns(), protocol_type: s(),
        protocols: list((s(), bytes(0, 20))),
    } }
}
fn at_join_req(mut x: JoinGroupRequest, v: i16) -> JoinGroupRequest {
    x.rebalance_timeout_ms = since(v, 1, x.rebalance_timeout_ms, x.session_timeout_ms);
    x.group_instance_id = since(v, 5, x.group_instance_id, None);
    x
}
fn join_resp() -> impl Strategy<Value = JoinGroupResponse> {
    let m = st! { JoinGroupMember {
        member_id: s(), group_instance_id: ns(), metadata: bytes(0, 20),
    } };
    st! { JoinGroupResponse {
        error_code: any::<i16>(), generation_id: any::<i32>(), protocol_type: ns(),
        protocol_name: s(), leader: s(), member_id: s(), members: list(m),
    } }
}
fn at_join_resp(mut x: JoinGroupResponse, v: i16) -> JoinGroupResponse {
    x.protocol_type = since(v, 7, x.protocol_type, None);
    for m in &mut x.members {
        m.group_instance_id = since(v, 5, m.group_instance_id.take(), None);
    }
    x
}

fn heartbeat_req() -> impl Strategy<Value = HeartbeatRequest> {
    st! { HeartbeatRequest { group_id: s(), generation_id: any::<i32>(), member_id: s() } }
}

fn leave_req() -> impl Strategy<Value = LeaveGroupRequest> {
    st! { LeaveGroupRequest { group_id: s(), member_ids: list(s()) } }
}
fn at_leave_req(mut x: LeaveGroupRequest, v: i16) -> LeaveGroupRequest {
    if v < 3 {
        x.member_ids = vec![x.member_ids.into_iter().next().unwrap_or_default()];
    }
    x
}
type LeaveResp = (i16, Vec<(String, i16)>);
fn at_leave_resp(x: LeaveResp, v: i16) -> LeaveResp {
    (x.0, since(v, 3, x.1, Vec::new()))
}

fn sync_req() -> impl Strategy<Value = SyncGroupRequest> {
    st! { SyncGroupRequest {
        group_id: s(), generation_id: any::<i32>(), member_id: s(),
        assignments: list((s(), bytes(0, 20))),
    } }
}
fn sync_resp() -> impl Strategy<Value = SyncGroupResponse> {
    st! { SyncGroupResponse {
        error_code: any::<i16>(), protocol_type: ns(), protocol_name: ns(),
        assignment: bytes(0, 20),
    } }
}
fn at_sync_resp(mut x: SyncGroupResponse, v: i16) -> SyncGroupResponse {
    x.protocol_type = since(v, 5, x.protocol_type, None);
    x.protocol_name = since(v, 5, x.protocol_name, None);
    x
}

fn at_describe_groups_req(mut x: DescribeGroupsRequest, v: i16) -> DescribeGroupsRequest {
    x.include_authorized_operations = since(v, 3, x.include_authorized_operations, false);
    x
}
fn describe_groups_req() -> impl Strategy<Value = DescribeGroupsRequest> {
    st! { DescribeGroupsRequest { groups: list(s()), include_authorized_operations: any::<bool>() } }
}
fn describe_groups_resp() -> impl Strategy<Value = Vec<DescribedGroup>> {
    let m = st! { DescribedMember {
        member_id: s(), group_instance_id: ns(), client_id: s(), client_host: s(),
        member_metadata: bytes(0, 10), member_assignment: bytes(0, 10),
    } };
    list(st! { DescribedGroup {
        error_code: any::<i16>(), group_id: s(), group_state: s(), protocol_type: s(),
        protocol_data: s(), members: list(m),
    } })
}
fn at_describe_groups_resp(mut x: Vec<DescribedGroup>, v: i16) -> Vec<DescribedGroup> {
    for m in x.iter_mut().flat_map(|g| &mut g.members) {
        m.group_instance_id = since(v, 4, m.group_instance_id.take(), None);
    }
    x
}

fn list_groups_req() -> impl Strategy<Value = ListGroupsRequest> {
    st! { ListGroupsRequest { states_filter: list(s()), types_filter: list(s()) } }
}
fn at_list_groups_req(mut x: ListGroupsRequest, v: i16) -> ListGroupsRequest {
    x.types_filter = since(v, 5, std::mem::take(&mut x.types_filter), Vec::new());
    since(v, 4, x, ListGroupsRequest::default())
}
fn list_groups_resp() -> impl Strategy<Value = Vec<ListedGroup>> {
    list(st! { ListedGroup { group_id: s(), protocol_type: s(), group_state: s() } })
}
fn at_list_groups_resp(mut x: Vec<ListedGroup>, v: i16) -> Vec<ListedGroup> {
    for g in x.iter_mut().filter(|_| v < 4) {
        g.group_state = String::new();
    }
    x
}

// ---- ApiVersions and the admin APIs ----------------------------------------

fn api_versions_req() -> impl Strategy<Value = ApiVersionsRequest> {
    st! { ApiVersionsRequest { client_software_name: s(), client_software_version: s() } }
}
fn at_api_versions_req(x: ApiVersionsRequest, v: i16) -> ApiVersionsRequest {
    since(v, 3, x, ApiVersionsRequest::default())
}
fn api_versions_resp() -> impl Strategy<Value = ApiVersionsResponse> {
    // `flex` is not on the wire: the decoder takes it from SUPPORTED.
    let key = prop_oneof![
        (0..SUPPORTED.len()).prop_map(|i| SUPPORTED[i].key),
        any::<i16>().prop_map(ApiKey),
    ];
    let entry = (key, any::<(i16, i16)>()).prop_map(|(key, (min, max))| {
        let flex = support(key).map_or(i16::MAX, |s| s.flex);
        ApiSupport {
            key,
            min,
            max,
            flex,
        }
    });
    st! { ApiVersionsResponse { error_code: any::<i16>(), api_keys: list(entry) } }
}

fn create_topics_req() -> impl Strategy<Value = CreateTopicsRequest> {
    let t = st! { CreatableTopic {
        name: s(), num_partitions: any::<i32>(), replication_factor: any::<i16>(),
        assignments: 0usize..3, configs: list((s(), ns())),
    } };
    st! { CreateTopicsRequest {
        topics: list(t), timeout_ms: any::<i32>(), validate_only: any::<bool>(),
    } }
}
fn at_create_topics_req(mut x: CreateTopicsRequest, v: i16) -> CreateTopicsRequest {
    x.validate_only = since(v, 1, x.validate_only, false);
    x
}
fn create_topics_resp() -> impl Strategy<Value = Vec<CreateTopicResult>> {
    list(st! { CreateTopicResult {
        name: s(), topic_id: uuid(), error_code: any::<i16>(), error_message: ns(),
        num_partitions: any::<i32>(), replication_factor: any::<i16>(), configs: list(st! {
            CreatedTopicConfig {
                name: s(), value: ns(), read_only: any::<bool>(), config_source: any::<i8>(),
                is_sensitive: any::<bool>(),
            }
        }),
    } })
}
fn at_create_topics_resp(mut x: Vec<CreateTopicResult>, v: i16) -> Vec<CreateTopicResult> {
    for t in &mut x {
        t.topic_id = since(v, 7, t.topic_id, [0; 16]);
        t.error_message = since(v, 1, t.error_message.take(), None);
        t.num_partitions = since(v, 5, t.num_partitions, -1);
        t.replication_factor = since(v, 5, t.replication_factor, -1);
        t.configs = since(v, 5, std::mem::take(&mut t.configs), Vec::new());
    }
    x
}

fn delete_records_req() -> impl Strategy<Value = DeleteRecordsRequest> {
    let topic = (s(), list((any::<i32>(), any::<i64>())))
        .prop_map(|(name, partitions)| DeleteRecordsTopic { name, partitions });
    (list(topic), any::<i32>())
        .prop_map(|(topics, timeout_ms)| DeleteRecordsRequest { topics, timeout_ms })
}

fn delete_records_resp() -> impl Strategy<Value = Vec<DeleteRecordsTopicResult>> {
    list(
        (s(), list((any::<i32>(), any::<i64>(), any::<i16>())))
            .prop_map(|(name, partitions)| DeleteRecordsTopicResult { name, partitions }),
    )
}

fn delete_topics_req() -> impl Strategy<Value = DeleteTopicsRequest> {
    st! { DeleteTopicsRequest { topic_names: list(s()), timeout_ms: any::<i32>() } }
}

fn describe_configs_req() -> impl Strategy<Value = DescribeConfigsRequest> {
    let res = st! { ConfigResource {
        resource_type: any::<i8>(), resource_name: s(), configuration_keys: of(list(s())),
    } };
    st! { DescribeConfigsRequest {
        resources: list(res), include_synonyms: any::<bool>(), include_documentation: any::<bool>(),
    } }
}
fn at_describe_configs_req(mut x: DescribeConfigsRequest, v: i16) -> DescribeConfigsRequest {
    x.include_synonyms = since(v, 1, x.include_synonyms, false);
    x.include_documentation = since(v, 3, x.include_documentation, false);
    x
}
fn describe_configs_resp() -> impl Strategy<Value = Vec<ConfigResult>> {
    let entry = st! { ConfigEntry {
        name: s(), value: ns(), source: prop_oneof![Just(SOURCE_DEFAULT), any::<i8>()],
        config_type: any::<i8>(), read_only: any::<bool>(),
        synonyms: list((s(), ns(), any::<i8>())), documentation: ns(),
    } };
    list(st! { ConfigResult {
        error_code: any::<i16>(), error_message: ns(), resource_type: any::<i8>(),
        resource_name: s(), configs: list(entry),
    } })
}
fn at_describe_configs_resp(mut x: Vec<ConfigResult>, v: i16) -> Vec<ConfigResult> {
    for c in x.iter_mut().flat_map(|r| &mut r.configs) {
        if v == 0 && c.source != SOURCE_DEFAULT {
            c.source = -1; // v0 only says is_default
        }
        c.config_type = since(v, 3, c.config_type, 0);
        c.documentation = since(v, 3, c.documentation.take(), None);
        c.synonyms = since(v, 1, std::mem::take(&mut c.synonyms), Vec::new());
    }
    x
}

fn create_partitions_req() -> impl Strategy<Value = CreatePartitionsRequest> {
    let t = st! { CreatePartitionsTopic {
        name: s(), count: any::<i32>(), has_assignments: any::<bool>(),
    } };
    st! { CreatePartitionsRequest { topics: list(t), validate_only: any::<bool>() } }
}

fn describe_cluster_req() -> impl Strategy<Value = DescribeClusterRequest> {
    st! { DescribeClusterRequest { endpoint_type: any::<i8>() } }
}
fn at_describe_cluster_req(x: DescribeClusterRequest, v: i16) -> DescribeClusterRequest {
    let endpoint_type = since(v, 1, x.endpoint_type, ENDPOINT_BROKERS);
    DescribeClusterRequest { endpoint_type }
}
fn describe_cluster_resp() -> impl Strategy<Value = DescribeClusterResponse> {
    st! { DescribeClusterResponse {
        error_code: any::<i16>(), endpoint_type: any::<i8>(), cluster_id: s(),
        controller_id: any::<i32>(), brokers: list((any::<i32>(), s(), any::<i32>())),
    } }
}
fn at_describe_cluster_resp(mut x: DescribeClusterResponse, v: i16) -> DescribeClusterResponse {
    x.endpoint_type = since(v, 1, x.endpoint_type, ENDPOINT_BROKERS);
    x
}

// ---- whole request frames --------------------------------------------------

/// Any advertised (version, request body), fitted to the version.
fn any_request() -> impl Strategy<Value = (i16, Request)> {
    macro_rules! arms {
        ($($key:ident: $gen:expr, $at:expr => $variant:ident;)*) => {
            prop_oneof![$(
                (versions(ApiKey::$key), $gen).prop_map(|(v, x)| (v, Request::$variant($at(x, v))))
            ),*]
        };
    }
    arms! {
        PRODUCE: produce_req(), at_produce_req => Produce;
        FETCH: fetch_req(), at_fetch_req => Fetch;
        LIST_OFFSETS: list_offsets_req(), at_list_offsets_req => ListOffsets;
        METADATA: metadata_req(), at_metadata_req => Metadata;
        OFFSET_COMMIT: offset_commit_req(), at_offset_commit_req => OffsetCommit;
        OFFSET_FETCH: offset_fetch_req(), at_offset_fetch_req => OffsetFetch;
        FIND_COORDINATOR: find_coordinator_req(), at_find_coordinator_req => FindCoordinator;
        JOIN_GROUP: join_req(), at_join_req => JoinGroup;
        HEARTBEAT: heartbeat_req(), same => Heartbeat;
        LEAVE_GROUP: leave_req(), at_leave_req => LeaveGroup;
        SYNC_GROUP: sync_req(), same => SyncGroup;
        API_VERSIONS: api_versions_req(), at_api_versions_req => ApiVersions;
        INIT_PRODUCER_ID: init_pid_req(), at_init_pid_req => InitProducerId;
        DESCRIBE_GROUPS: describe_groups_req(), at_describe_groups_req => DescribeGroups;
        LIST_GROUPS: list_groups_req(), at_list_groups_req => ListGroups;
        CREATE_TOPICS: create_topics_req(), at_create_topics_req => CreateTopics;
        DELETE_TOPICS: delete_topics_req(), same => DeleteTopics;
        DELETE_RECORDS: delete_records_req(), same => DeleteRecords;
        DESCRIBE_CONFIGS: describe_configs_req(), at_describe_configs_req => DescribeConfigs;
        CREATE_PARTITIONS: create_partitions_req(), same => CreatePartitions;
        OFFSET_FOR_LEADER_EPOCH: epoch_req(), at_epoch_req => OffsetForLeaderEpoch;
        DESCRIBE_CLUSTER: describe_cluster_req(), at_describe_cluster_req => DescribeCluster;
    }
}

/// The header `parse_request_header` gives for these fields, `body_offset`
/// being the encoded header's length.
fn header(key: ApiKey, v: i16, correlation_id: i32, client_id: Option<String>) -> RequestHeader {
    let flexible = if key == ApiKey::API_VERSIONS {
        v >= 3
    } else {
        is_flexible(key, v)
    };
    let mut h = RequestHeader {
        api_key: key,
        api_version: v,
        correlation_id,
        client_id,
        body_offset: 0,
        flexible,
    };
    let mut w = Writer::new(false);
    h.encode(&mut w);
    h.body_offset = w.len();
    h
}

// ---- the properties --------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn produce(req in produce_req(), resp in produce_resp()) {
        check_api!(ApiKey::PRODUCE, req, resp, at_produce_req, at_produce_resp,
            ProduceRequest::decode, ProduceResponse::encode, ProduceResponse::decode);
    }

    #[test]
    fn fetch(req in fetch_req(), resp in fetch_resp()) {
        check_api!(ApiKey::FETCH, req, resp, at_fetch_req, at_fetch_resp,
            FetchRequest::decode, FetchResponse::encode, FetchResponse::decode);
    }

    #[test]
    fn list_offsets(req in list_offsets_req(), resp in list_offsets_resp()) {
        check_api!(ApiKey::LIST_OFFSETS, req, resp, at_list_offsets_req, at_list_offsets_resp,
            ListOffsetsRequest::decode, ListOffsetsResponse::encode, ListOffsetsResponse::decode);
    }

    #[test]
    fn metadata(req in metadata_req(), resp in metadata_resp()) {
        check_api!(ApiKey::METADATA, req, resp, at_metadata_req, at_metadata_resp,
            MetadataRequest::decode, MetadataResponse::encode, MetadataResponse::decode);
    }

    #[test]
    fn offset_commit(req in offset_commit_req(), resp in offset_commit_resp()) {
        check_api!(ApiKey::OFFSET_COMMIT, req, resp, at_offset_commit_req, same,
            OffsetCommitRequest::decode, OffsetCommitResponse::encode,
            OffsetCommitResponse::decode);
    }

    #[test]
    fn offset_fetch(req in offset_fetch_req(), resp in offset_fetch_resp()) {
        check_api!(ApiKey::OFFSET_FETCH, req, resp, at_offset_fetch_req, at_offset_fetch_resp,
            OffsetFetchRequest::decode, OffsetFetchResponse::encode, OffsetFetchResponse::decode);
    }

    #[test]
    fn find_coordinator(req in find_coordinator_req(), resp in find_coordinator_resp()) {
        check_api!(ApiKey::FIND_COORDINATOR, req, resp, at_find_coordinator_req,
            at_find_coordinator_resp, FindCoordinatorRequest::decode,
            FindCoordinatorResponse::encode, FindCoordinatorResponse::decode);
    }

    #[test]
    fn join_group(req in join_req(), resp in join_resp()) {
        check_api!(ApiKey::JOIN_GROUP, req, resp, at_join_req, at_join_resp,
            JoinGroupRequest::decode, JoinGroupResponse::encode, JoinGroupResponse::decode);
    }

    #[test]
    fn heartbeat(req in heartbeat_req(), resp in any::<i16>()) {
        check_api!(ApiKey::HEARTBEAT, req, resp, same, same, HeartbeatRequest::decode,
            |x: &i16, w, v| heartbeat::encode_response(w, v, *x), heartbeat::decode_response);
    }

    #[test]
    fn leave_group(req in leave_req(), resp in (any::<i16>(), list((s(), any::<i16>())))) {
        check_api!(ApiKey::LEAVE_GROUP, req, resp, at_leave_req, at_leave_resp,
            LeaveGroupRequest::decode,
            |x: &LeaveResp, w, v| leave_group::encode_response(w, v, x.0, &x.1),
            leave_group::decode_response);
    }

    #[test]
    fn sync_group(req in sync_req(), resp in sync_resp()) {
        check_api!(ApiKey::SYNC_GROUP, req, resp, same, at_sync_resp,
            SyncGroupRequest::decode, SyncGroupResponse::encode, SyncGroupResponse::decode);
    }

    #[test]
    fn describe_groups(req in describe_groups_req(), resp in describe_groups_resp()) {
        check_api!(ApiKey::DESCRIBE_GROUPS, req, resp, at_describe_groups_req,
            at_describe_groups_resp,
            DescribeGroupsRequest::decode,
            |x: &Vec<DescribedGroup>, w, v| describe_groups::encode_response(w, v, x),
            describe_groups::decode_response);
    }

    #[test]
    fn list_groups(req in list_groups_req(), resp in list_groups_resp()) {
        check_api!(ApiKey::LIST_GROUPS, req, resp, at_list_groups_req, at_list_groups_resp,
            ListGroupsRequest::decode,
            |x: &Vec<ListedGroup>, w, v| list_groups::encode_response(w, v, x),
            list_groups::decode_response);
    }

    #[test]
    fn api_versions(req in api_versions_req(), resp in api_versions_resp()) {
        check_api!(ApiKey::API_VERSIONS, req, resp, at_api_versions_req, same,
            ApiVersionsRequest::decode, ApiVersionsResponse::encode, ApiVersionsResponse::decode);
    }

    #[test]
    fn create_topics(req in create_topics_req(), resp in create_topics_resp()) {
        check_api!(ApiKey::CREATE_TOPICS, req, resp, at_create_topics_req, at_create_topics_resp,
            CreateTopicsRequest::decode,
            |x: &Vec<CreateTopicResult>, w, v| create_topics::encode_response(w, v, x),
            create_topics::decode_response);
    }

    #[test]
    fn delete_topics(req in delete_topics_req(), resp in list((s(), any::<i16>()))) {
        check_api!(ApiKey::DELETE_TOPICS, req, resp, same, same, DeleteTopicsRequest::decode,
            |x: &Vec<(String, i16)>, w, v| delete_topics::encode_response(w, v, x),
            delete_topics::decode_response);
    }

    #[test]
    fn delete_records(req in delete_records_req(), resp in delete_records_resp()) {
        check_api!(ApiKey::DELETE_RECORDS, req, resp, same, same, DeleteRecordsRequest::decode,
            |x: &Vec<DeleteRecordsTopicResult>, w, v| delete_records::encode_response(w, v, x),
            delete_records::decode_response);
    }

    #[test]
    fn offset_for_leader_epoch(req in epoch_req(), resp in epoch_resp()) {
        check_api!(ApiKey::OFFSET_FOR_LEADER_EPOCH, req, resp, at_epoch_req, at_epoch_resp,
            OffsetForLeaderEpochRequest::decode,
            |x: &EpochResp, w, v| offset_for_leader_epoch::encode_response(w, v, x),
            offset_for_leader_epoch::decode_response);
    }

    #[test]
    fn describe_configs(req in describe_configs_req(), resp in describe_configs_resp()) {
        check_api!(ApiKey::DESCRIBE_CONFIGS, req, resp, at_describe_configs_req,
            at_describe_configs_resp,
            DescribeConfigsRequest::decode,
            |x: &Vec<ConfigResult>, w, v| describe_configs::encode_response(w, v, x),
            describe_configs::decode_response);
    }

    #[test]
    fn create_partitions(
        req in create_partitions_req(),
        resp in list((s(), any::<i16>(), ns())),
    ) {
        check_api!(ApiKey::CREATE_PARTITIONS, req, resp, same, same,
            CreatePartitionsRequest::decode,
            |x: &Vec<(String, i16, Option<String>)>, w, v| {
                create_partitions::encode_response(w, v, x)
            },
            create_partitions::decode_response);
    }

    #[test]
    fn describe_cluster(req in describe_cluster_req(), resp in describe_cluster_resp()) {
        check_api!(ApiKey::DESCRIBE_CLUSTER, req, resp, at_describe_cluster_req,
            at_describe_cluster_resp, DescribeClusterRequest::decode,
            DescribeClusterResponse::encode, DescribeClusterResponse::decode);
    }

    #[test]
    fn init_producer_id(req in init_pid_req(), resp in init_pid_resp()) {
        check_api!(ApiKey::INIT_PRODUCER_ID, req, resp, at_init_pid_req, same,
            InitProducerIdRequest::decode, InitProducerIdResponse::encode,
            InitProducerIdResponse::decode);
    }

    /// Header + body frames decode through `decode_request` to the same
    /// header and body, with nothing left over.
    #[test]
    fn request_frames((v, req) in any_request(), cid: i32, client_id in ns()) {
        let h = header(req.api_key(), v, cid, client_id);
        let frame = encode_request(&h, &req);
        let (h2, req2) = decode_request(&frame)
            .map_err(|e| TestCaseError::fail(format!("decode: {e}")))?;
        prop_assert_eq!(h2, h);
        prop_assert_eq!(req2, req);
    }

    /// Request header v1 (classic) and v2 (flexible: tagged fields) for any
    /// key and version, known or not.
    #[test]
    fn request_headers(key: i16, v: i16, cid: i32, client_id in ns()) {
        let h = header(ApiKey(key), v, cid, client_id);
        let mut w = Writer::new(false);
        h.encode(&mut w);
        let frame = w.to_bytes();
        prop_assert_eq!(frame.len(), h.body_offset);
        prop_assert_eq!(parse_request_header(&frame).unwrap(), h);
    }

    /// Response header v0 and v1 (flexible: tagged fields).
    #[test]
    fn response_headers(correlation_id: i32, flexible: bool) {
        let h = ResponseHeader { correlation_id, flexible };
        rt(&h, false, |h, w| h.encode(w), |r| ResponseHeader::decode(r, flexible))?;
    }
}

/// Every advertised API has a property above or in `kafka_admin_roundtrip.rs`
/// (keep this list in step with `SUPPORTED`).
#[test]
fn every_advertised_api_is_covered() {
    // 17, 36, 50, 51 (SASL, SCRAM admin): round-trips in their modules' unit tests;
    // 29, 30, 31 (ACL admin): kafka_acls_roundtrip.rs.
    let covered = [
        0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 28,
        29, 30, 31, 32, 33, 35, 36, 37, 42, 43, 44, 45, 46, 47, 50, 51, 60, 61, 65, 66,
    ];
    let mut advertised: Vec<i16> = SUPPORTED.iter().map(|s| s.key.0).collect();
    advertised.sort_unstable();
    assert_eq!(advertised, covered);
}
