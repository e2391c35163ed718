//! Whole-request decoding: header, then the API's body, requiring every
//! byte to be consumed. Used by golden tests and fuzzing; the broker's
//! dispatcher decodes per API.

use bytes::Bytes;

use super::add_offsets_to_txn::AddOffsetsToTxnRequest;
use super::add_partitions_to_txn::AddPartitionsToTxnRequest;
use super::alter_configs::AlterConfigsRequest;
use super::alter_partition_reassignments::AlterPartitionReassignmentsRequest;
use super::api_versions::ApiVersionsRequest;
use super::create_partitions::CreatePartitionsRequest;
use super::create_topics::CreateTopicsRequest;
use super::delete_groups::DeleteGroupsRequest;
use super::delete_records::DeleteRecordsRequest;
use super::delete_topics::DeleteTopicsRequest;
use super::describe_cluster::DescribeClusterRequest;
use super::describe_configs::DescribeConfigsRequest;
use super::describe_groups::DescribeGroupsRequest;
use super::describe_log_dirs::DescribeLogDirsRequest;
use super::describe_producers::DescribeProducersRequest;
use super::describe_transactions::{
    decode_describe_request, encode_describe_request, ListTransactionsRequest,
};
use super::elect_leaders::ElectLeadersRequest;
use super::end_txn::EndTxnRequest;
use super::fetch::FetchRequest;
use super::find_coordinator::FindCoordinatorRequest;
use super::groups::heartbeat::HeartbeatRequest;
use super::groups::join_group::JoinGroupRequest;
use super::groups::leave_group::LeaveGroupRequest;
use super::groups::sync_group::SyncGroupRequest;
use super::header::parse_request_header;
use super::incremental_alter_configs::IncrementalAlterConfigsRequest;
use super::init_producer_id::InitProducerIdRequest;
use super::list_groups::ListGroupsRequest;
use super::list_offsets::ListOffsetsRequest;
use super::list_partition_reassignments::ListPartitionReassignmentsRequest;
use super::metadata::MetadataRequest;
use super::offset_commit::OffsetCommitRequest;
use super::offset_delete::OffsetDeleteRequest;
use super::offset_fetch::OffsetFetchRequest;
use super::offset_for_leader_epoch::OffsetForLeaderEpochRequest;
use super::produce::ProduceRequest;
use super::txn_offset_commit::TxnOffsetCommitRequest;
use super::{support, ApiKey, DecodeError, Reader, RequestHeader, Writer};

/// A decoded request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Produce.
    Produce(ProduceRequest),
    /// Fetch.
    Fetch(FetchRequest),
    /// ListOffsets.
    ListOffsets(ListOffsetsRequest),
    /// Metadata.
    Metadata(MetadataRequest),
    /// OffsetCommit.
    OffsetCommit(OffsetCommitRequest),
    /// OffsetFetch.
    OffsetFetch(OffsetFetchRequest),
    /// FindCoordinator.
    FindCoordinator(FindCoordinatorRequest),
    /// JoinGroup.
    JoinGroup(JoinGroupRequest),
    /// Heartbeat.
    Heartbeat(HeartbeatRequest),
    /// LeaveGroup.
    LeaveGroup(LeaveGroupRequest),
    /// SyncGroup.
    SyncGroup(SyncGroupRequest),
    /// ApiVersions.
    ApiVersions(ApiVersionsRequest),
    /// InitProducerId.
    InitProducerId(InitProducerIdRequest),
    /// DescribeGroups.
    DescribeGroups(DescribeGroupsRequest),
    /// ListGroups.
    ListGroups(ListGroupsRequest),
    /// CreateTopics.
    CreateTopics(CreateTopicsRequest),
    /// DeleteTopics.
    DeleteTopics(DeleteTopicsRequest),
    /// DeleteRecords.
    DeleteRecords(DeleteRecordsRequest),
    /// DescribeConfigs.
    DescribeConfigs(DescribeConfigsRequest),
    /// CreatePartitions.
    CreatePartitions(CreatePartitionsRequest),
    /// OffsetForLeaderEpoch.
    OffsetForLeaderEpoch(OffsetForLeaderEpochRequest),
    /// DescribeCluster.
    DescribeCluster(DescribeClusterRequest),
    /// AlterConfigs.
    AlterConfigs(AlterConfigsRequest),
    /// DescribeLogDirs.
    DescribeLogDirs(DescribeLogDirsRequest),
    /// DeleteGroups.
    DeleteGroups(DeleteGroupsRequest),
    /// ElectLeaders.
    ElectLeaders(ElectLeadersRequest),
    /// IncrementalAlterConfigs.
    IncrementalAlterConfigs(IncrementalAlterConfigsRequest),
    /// AlterPartitionReassignments.
    AlterPartitionReassignments(AlterPartitionReassignmentsRequest),
    /// ListPartitionReassignments.
    ListPartitionReassignments(ListPartitionReassignmentsRequest),
    /// OffsetDelete.
    OffsetDelete(OffsetDeleteRequest),
    /// DescribeProducers.
    DescribeProducers(DescribeProducersRequest),
    /// AddPartitionsToTxn.
    AddPartitionsToTxn(AddPartitionsToTxnRequest),
    /// AddOffsetsToTxn.
    AddOffsetsToTxn(AddOffsetsToTxnRequest),
    /// EndTxn.
    EndTxn(EndTxnRequest),
    /// TxnOffsetCommit.
    TxnOffsetCommit(TxnOffsetCommitRequest),
    /// DescribeTransactions: the transactional ids.
    DescribeTransactions(Vec<String>),
    /// ListTransactions.
    ListTransactions(ListTransactionsRequest),
}

/// Decodes a frame (size prefix removed) into its header and body.
pub fn decode_request(frame: &Bytes) -> Result<(RequestHeader, Request), DecodeError> {
    let h = parse_request_header(frame)?;
    let (key, v) = (h.api_key, h.api_version);
    if !support(key).is_some_and(|s| (s.min..=s.max).contains(&v)) {
        return Err(DecodeError::Unsupported {
            key: key.0,
            version: v,
        });
    }
    let mut r = Reader::new(frame, h.body_offset, h.flexible);
    let req = match key {
        ApiKey::PRODUCE => Request::Produce(ProduceRequest::decode(&mut r, v)?),
        ApiKey::FETCH => Request::Fetch(FetchRequest::decode(&mut r, v)?),
        ApiKey::LIST_OFFSETS => Request::ListOffsets(ListOffsetsRequest::decode(&mut r, v)?),
        ApiKey::METADATA => Request::Metadata(MetadataRequest::decode(&mut r, v)?),
        ApiKey::OFFSET_COMMIT => Request::OffsetCommit(OffsetCommitRequest::decode(&mut r, v)?),
        ApiKey::OFFSET_FETCH => Request::OffsetFetch(OffsetFetchRequest::decode(&mut r, v)?),
        ApiKey::FIND_COORDINATOR => {
            Request::FindCoordinator(FindCoordinatorRequest::decode(&mut r, v)?)
        }
        ApiKey::JOIN_GROUP => Request::JoinGroup(JoinGroupRequest::decode(&mut r, v)?),
        ApiKey::HEARTBEAT => Request::Heartbeat(HeartbeatRequest::decode(&mut r, v)?),
        ApiKey::LEAVE_GROUP => Request::LeaveGroup(LeaveGroupRequest::decode(&mut r, v)?),
        ApiKey::SYNC_GROUP => Request::SyncGroup(SyncGroupRequest::decode(&mut r, v)?),
        ApiKey::API_VERSIONS => Request::ApiVersions(ApiVersionsRequest::decode(&mut r, v)?),
        ApiKey::INIT_PRODUCER_ID => {
            Request::InitProducerId(InitProducerIdRequest::decode(&mut r, v)?)
        }
        ApiKey::DESCRIBE_GROUPS => {
            Request::DescribeGroups(DescribeGroupsRequest::decode(&mut r, v)?)
        }
        ApiKey::LIST_GROUPS => Request::ListGroups(ListGroupsRequest::decode(&mut r, v)?),
        ApiKey::CREATE_TOPICS => Request::CreateTopics(CreateTopicsRequest::decode(&mut r, v)?),
        ApiKey::DELETE_TOPICS => Request::DeleteTopics(DeleteTopicsRequest::decode(&mut r, v)?),
        ApiKey::DELETE_RECORDS => Request::DeleteRecords(DeleteRecordsRequest::decode(&mut r, v)?),
        ApiKey::OFFSET_FOR_LEADER_EPOCH => {
            Request::OffsetForLeaderEpoch(OffsetForLeaderEpochRequest::decode(&mut r, v)?)
        }
        ApiKey::DESCRIBE_CLUSTER => {
            Request::DescribeCluster(DescribeClusterRequest::decode(&mut r, v)?)
        }
        ApiKey::CREATE_PARTITIONS => {
            Request::CreatePartitions(CreatePartitionsRequest::decode(&mut r, v)?)
        }
        ApiKey::DESCRIBE_CONFIGS => {
            Request::DescribeConfigs(DescribeConfigsRequest::decode(&mut r, v)?)
        }
        ApiKey::ALTER_CONFIGS => Request::AlterConfigs(AlterConfigsRequest::decode(&mut r, v)?),
        ApiKey::DESCRIBE_LOG_DIRS => {
            Request::DescribeLogDirs(DescribeLogDirsRequest::decode(&mut r, v)?)
        }
        ApiKey::DELETE_GROUPS => Request::DeleteGroups(DeleteGroupsRequest::decode(&mut r, v)?),
        ApiKey::ELECT_LEADERS => Request::ElectLeaders(ElectLeadersRequest::decode(&mut r, v)?),
        ApiKey::INCREMENTAL_ALTER_CONFIGS => {
            Request::IncrementalAlterConfigs(IncrementalAlterConfigsRequest::decode(&mut r, v)?)
        }
        ApiKey::ALTER_PARTITION_REASSIGNMENTS => Request::AlterPartitionReassignments(
            AlterPartitionReassignmentsRequest::decode(&mut r, v)?,
        ),
        ApiKey::LIST_PARTITION_REASSIGNMENTS => Request::ListPartitionReassignments(
            ListPartitionReassignmentsRequest::decode(&mut r, v)?,
        ),
        ApiKey::OFFSET_DELETE => Request::OffsetDelete(OffsetDeleteRequest::decode(&mut r, v)?),
        ApiKey::DESCRIBE_PRODUCERS => {
            Request::DescribeProducers(DescribeProducersRequest::decode(&mut r, v)?)
        }
        ApiKey::ADD_PARTITIONS_TO_TXN => {
            Request::AddPartitionsToTxn(AddPartitionsToTxnRequest::decode(&mut r, v)?)
        }
        ApiKey::ADD_OFFSETS_TO_TXN => {
            Request::AddOffsetsToTxn(AddOffsetsToTxnRequest::decode(&mut r, v)?)
        }
        ApiKey::END_TXN => Request::EndTxn(EndTxnRequest::decode(&mut r, v)?),
        ApiKey::TXN_OFFSET_COMMIT => {
            Request::TxnOffsetCommit(TxnOffsetCommitRequest::decode(&mut r, v)?)
        }
        ApiKey::DESCRIBE_TRANSACTIONS => {
            Request::DescribeTransactions(decode_describe_request(&mut r)?)
        }
        ApiKey::LIST_TRANSACTIONS => {
            Request::ListTransactions(ListTransactionsRequest::decode(&mut r)?)
        }
        _ => {
            return Err(DecodeError::Unsupported {
                key: key.0,
                version: v,
            })
        }
    };
    if r.remaining() != 0 {
        return Err(DecodeError::Invalid {
            field: "bytes after the body",
        });
    }
    Ok((h, req))
}

impl Request {
    /// The API this body belongs to.
    pub fn api_key(&self) -> ApiKey {
        match self {
            Request::Produce(_) => ApiKey::PRODUCE,
            Request::Fetch(_) => ApiKey::FETCH,
            Request::ListOffsets(_) => ApiKey::LIST_OFFSETS,
            Request::Metadata(_) => ApiKey::METADATA,
            Request::OffsetCommit(_) => ApiKey::OFFSET_COMMIT,
            Request::OffsetFetch(_) => ApiKey::OFFSET_FETCH,
            Request::FindCoordinator(_) => ApiKey::FIND_COORDINATOR,
            Request::JoinGroup(_) => ApiKey::JOIN_GROUP,
            Request::Heartbeat(_) => ApiKey::HEARTBEAT,
            Request::LeaveGroup(_) => ApiKey::LEAVE_GROUP,
            Request::SyncGroup(_) => ApiKey::SYNC_GROUP,
            Request::ApiVersions(_) => ApiKey::API_VERSIONS,
            Request::InitProducerId(_) => ApiKey::INIT_PRODUCER_ID,
            Request::DescribeGroups(_) => ApiKey::DESCRIBE_GROUPS,
            Request::ListGroups(_) => ApiKey::LIST_GROUPS,
            Request::CreateTopics(_) => ApiKey::CREATE_TOPICS,
            Request::DeleteTopics(_) => ApiKey::DELETE_TOPICS,
            Request::DeleteRecords(_) => ApiKey::DELETE_RECORDS,
            Request::DescribeConfigs(_) => ApiKey::DESCRIBE_CONFIGS,
            Request::CreatePartitions(_) => ApiKey::CREATE_PARTITIONS,
            Request::OffsetForLeaderEpoch(_) => ApiKey::OFFSET_FOR_LEADER_EPOCH,
            Request::DescribeCluster(_) => ApiKey::DESCRIBE_CLUSTER,
            Request::AlterConfigs(_) => ApiKey::ALTER_CONFIGS,
            Request::DescribeLogDirs(_) => ApiKey::DESCRIBE_LOG_DIRS,
            Request::DeleteGroups(_) => ApiKey::DELETE_GROUPS,
            Request::ElectLeaders(_) => ApiKey::ELECT_LEADERS,
            Request::IncrementalAlterConfigs(_) => ApiKey::INCREMENTAL_ALTER_CONFIGS,
            Request::AlterPartitionReassignments(_) => ApiKey::ALTER_PARTITION_REASSIGNMENTS,
            Request::ListPartitionReassignments(_) => ApiKey::LIST_PARTITION_REASSIGNMENTS,
            Request::OffsetDelete(_) => ApiKey::OFFSET_DELETE,
            Request::DescribeProducers(_) => ApiKey::DESCRIBE_PRODUCERS,
            Request::AddPartitionsToTxn(_) => ApiKey::ADD_PARTITIONS_TO_TXN,
            Request::AddOffsetsToTxn(_) => ApiKey::ADD_OFFSETS_TO_TXN,
            Request::EndTxn(_) => ApiKey::END_TXN,
            Request::TxnOffsetCommit(_) => ApiKey::TXN_OFFSET_COMMIT,
            Request::DescribeTransactions(_) => ApiKey::DESCRIBE_TRANSACTIONS,
            Request::ListTransactions(_) => ApiKey::LIST_TRANSACTIONS,
        }
    }

    /// Encodes the body for `version`; `w.flex` must already match it.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        match self {
            Request::Produce(x) => x.encode(w, version),
            Request::Fetch(x) => x.encode(w, version),
            Request::ListOffsets(x) => x.encode(w, version),
            Request::Metadata(x) => x.encode(w, version),
            Request::OffsetCommit(x) => x.encode(w, version),
            Request::OffsetFetch(x) => x.encode(w, version),
            Request::FindCoordinator(x) => x.encode(w, version),
            Request::JoinGroup(x) => x.encode(w, version),
            Request::Heartbeat(x) => x.encode(w, version),
            Request::LeaveGroup(x) => x.encode(w, version),
            Request::SyncGroup(x) => x.encode(w, version),
            Request::ApiVersions(x) => x.encode(w, version),
            Request::InitProducerId(x) => x.encode(w, version),
            Request::DescribeGroups(x) => x.encode(w, version),
            Request::ListGroups(x) => x.encode(w, version),
            Request::CreateTopics(x) => x.encode(w, version),
            Request::DeleteTopics(x) => x.encode(w, version),
            Request::DeleteRecords(x) => x.encode(w, version),
            Request::DescribeConfigs(x) => x.encode(w, version),
            Request::CreatePartitions(x) => x.encode(w, version),
            Request::OffsetForLeaderEpoch(x) => x.encode(w, version),
            Request::DescribeCluster(x) => x.encode(w, version),
            Request::AlterConfigs(x) => x.encode(w, version),
            Request::DescribeLogDirs(x) => x.encode(w, version),
            Request::DeleteGroups(x) => x.encode(w, version),
            Request::ElectLeaders(x) => x.encode(w, version),
            Request::IncrementalAlterConfigs(x) => x.encode(w, version),
            Request::AlterPartitionReassignments(x) => x.encode(w, version),
            Request::ListPartitionReassignments(x) => x.encode(w, version),
            Request::OffsetDelete(x) => x.encode(w, version),
            Request::DescribeProducers(x) => x.encode(w, version),
            Request::AddPartitionsToTxn(x) => x.encode(w, version),
            Request::AddOffsetsToTxn(x) => x.encode(w, version),
            Request::EndTxn(x) => x.encode(w, version),
            Request::TxnOffsetCommit(x) => x.encode(w, version),
            Request::DescribeTransactions(ids) => encode_describe_request(w, ids),
            Request::ListTransactions(x) => x.encode(w),
        }
    }
}

/// Encodes a frame (no size prefix) for `h` and `req`: the inverse of
/// [`decode_request`]. The body uses the compact encodings when
/// `h.flexible`; `h.body_offset` is ignored.
pub fn encode_request(h: &RequestHeader, req: &Request) -> Bytes {
    let mut w = Writer::new(h.flexible);
    h.encode(&mut w);
    req.encode(&mut w, h.api_version);
    w.to_bytes()
}
