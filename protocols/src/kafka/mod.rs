//! The Kafka wire protocol, sans-io: frame headers, one module per API (each
//! with its supported versions), record formats and compression.
//!
//! ```text
//! frame    i32 size, then header + body (header.rs)
//! wire     primitive types, classic and compact (wire.rs)
//! records  RecordBatch v2 validation, MessageSet v0/v1 -> v2 (records.rs)
//! codec    gzip / snappy (raw + xerial) / lz4 / zstd decoding (compression.rs)
//! <api>.rs one file per API: request/response types, versions, decode, encode
//! ```
//!
//! [`SUPPORTED`] is the single table ApiVersions is generated from.

pub mod acls;
pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod alter_configs;
pub mod alter_partition_reassignments;
pub mod api_versions;
pub mod compression;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod describe_log_dirs;
pub mod describe_producers;
pub mod describe_transactions;
pub mod elect_leaders;
pub mod end_txn;
pub mod fetch;
pub mod find_coordinator;
pub mod groups;
pub mod header;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod list_groups;
pub mod list_offsets;
pub mod list_partition_reassignments;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod offsets_topic;
pub mod produce;
pub mod records;
pub mod request;
pub mod sasl_authenticate;
pub mod sasl_handshake;
pub mod scram_credentials;
pub mod txn_log;
pub mod txn_offset_commit;
pub mod wire;

pub use header::{RequestHeader, ResponseHeader};
pub use wire::{Reader, Writer};

/// A Kafka API key, kept open so unknown keys reach the "not supported" path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiKey(pub i16);

impl ApiKey {
    /// Produce.
    pub const PRODUCE: ApiKey = ApiKey(0);
    /// Fetch.
    pub const FETCH: ApiKey = ApiKey(1);
    /// ListOffsets.
    pub const LIST_OFFSETS: ApiKey = ApiKey(2);
    /// Metadata.
    pub const METADATA: ApiKey = ApiKey(3);
    /// OffsetCommit.
    pub const OFFSET_COMMIT: ApiKey = ApiKey(8);
    /// OffsetFetch.
    pub const OFFSET_FETCH: ApiKey = ApiKey(9);
    /// FindCoordinator.
    pub const FIND_COORDINATOR: ApiKey = ApiKey(10);
    /// JoinGroup.
    pub const JOIN_GROUP: ApiKey = ApiKey(11);
    /// Heartbeat.
    pub const HEARTBEAT: ApiKey = ApiKey(12);
    /// LeaveGroup.
    pub const LEAVE_GROUP: ApiKey = ApiKey(13);
    /// SyncGroup.
    pub const SYNC_GROUP: ApiKey = ApiKey(14);
    /// DescribeGroups.
    pub const DESCRIBE_GROUPS: ApiKey = ApiKey(15);
    /// ListGroups.
    pub const LIST_GROUPS: ApiKey = ApiKey(16);
    /// ApiVersions.
    pub const API_VERSIONS: ApiKey = ApiKey(18);
    /// CreateTopics.
    pub const CREATE_TOPICS: ApiKey = ApiKey(19);
    /// DeleteTopics.
    pub const DELETE_TOPICS: ApiKey = ApiKey(20);
    /// DeleteRecords.
    pub const DELETE_RECORDS: ApiKey = ApiKey(21);
    /// OffsetForLeaderEpoch.
    pub const OFFSET_FOR_LEADER_EPOCH: ApiKey = ApiKey(23);
    /// DescribeConfigs.
    pub const DESCRIBE_CONFIGS: ApiKey = ApiKey(32);
    /// CreatePartitions.
    pub const CREATE_PARTITIONS: ApiKey = ApiKey(37);
    /// DescribeCluster.
    pub const DESCRIBE_CLUSTER: ApiKey = ApiKey(60);
    /// InitProducerId.
    pub const INIT_PRODUCER_ID: ApiKey = ApiKey(22);
    /// AlterConfigs.
    pub const ALTER_CONFIGS: ApiKey = ApiKey(33);
    /// DescribeLogDirs.
    pub const DESCRIBE_LOG_DIRS: ApiKey = ApiKey(35);
    /// DeleteGroups.
    pub const DELETE_GROUPS: ApiKey = ApiKey(42);
    /// ElectLeaders.
    pub const ELECT_LEADERS: ApiKey = ApiKey(43);
    /// IncrementalAlterConfigs.
    pub const INCREMENTAL_ALTER_CONFIGS: ApiKey = ApiKey(44);
    /// AlterPartitionReassignments.
    pub const ALTER_PARTITION_REASSIGNMENTS: ApiKey = ApiKey(45);
    /// ListPartitionReassignments.
    pub const LIST_PARTITION_REASSIGNMENTS: ApiKey = ApiKey(46);
    /// OffsetDelete.
    pub const OFFSET_DELETE: ApiKey = ApiKey(47);
    /// DescribeProducers.
    pub const DESCRIBE_PRODUCERS: ApiKey = ApiKey(61);
    /// SaslHandshake.
    pub const SASL_HANDSHAKE: ApiKey = ApiKey(17);
    /// SaslAuthenticate.
    pub const SASL_AUTHENTICATE: ApiKey = ApiKey(36);
    /// DescribeUserScramCredentials.
    pub const DESCRIBE_USER_SCRAM_CREDENTIALS: ApiKey = ApiKey(50);
    /// AlterUserScramCredentials.
    pub const ALTER_USER_SCRAM_CREDENTIALS: ApiKey = ApiKey(51);
    /// AddPartitionsToTxn.
    pub const ADD_PARTITIONS_TO_TXN: ApiKey = ApiKey(24);
    /// AddOffsetsToTxn.
    pub const ADD_OFFSETS_TO_TXN: ApiKey = ApiKey(25);
    /// EndTxn.
    pub const END_TXN: ApiKey = ApiKey(26);
    /// TxnOffsetCommit.
    pub const TXN_OFFSET_COMMIT: ApiKey = ApiKey(28);
    /// DescribeTransactions.
    pub const DESCRIBE_TRANSACTIONS: ApiKey = ApiKey(65);
    /// ListTransactions.
    pub const LIST_TRANSACTIONS: ApiKey = ApiKey(66);
    /// DescribeAcls.
    pub const DESCRIBE_ACLS: ApiKey = ApiKey(29);
    /// CreateAcls.
    pub const CREATE_ACLS: ApiKey = ApiKey(30);
    /// DeleteAcls.
    pub const DELETE_ACLS: ApiKey = ApiKey(31);
}

/// Per topic, (partition, error code): what several admin responses decode to.
pub type TopicErrors = Vec<(String, Vec<(i32, i16)>)>;

/// A topic and some of its partitions, as many admin requests name them:
/// `name str, partitions [i32], tags`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicPartitions {
    /// Topic.
    pub name: String,
    /// Partition indexes.
    pub partitions: Vec<i32>,
}

impl TopicPartitions {
    /// Reads one entry (tags only in flexible versions).
    pub fn read(r: &mut Reader<'_>) -> Result<TopicPartitions, DecodeError> {
        let name = r.str("topic")?;
        let partitions = r.array("partitions", |r| r.i32("partition"))?;
        r.tags()?;
        Ok(TopicPartitions { name, partitions })
    }

    /// Writes one entry.
    pub fn write(&self, w: &mut Writer) {
        w.str(&self.name);
        w.array(&self.partitions, |w, p| w.i32(*p));
        w.tags();
    }
}

/// One API this codec supports: versions `min..=max`, flexible from `flex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiSupport {
    /// The API.
    pub key: ApiKey,
    /// Oldest supported version.
    pub min: i16,
    /// Newest supported version.
    pub max: i16,
    /// First flexible version of the API (may be above `max`).
    pub flex: i16,
}

/// Every API and version range rokka advertises; each version in each range
/// works end to end. ApiVersions is generated from this table.
pub const SUPPORTED: &[ApiSupport] = &[
    api(ApiKey::PRODUCE, 0, 11, 9),
    api(ApiKey::FETCH, 0, 12, 12),
    api(ApiKey::LIST_OFFSETS, 0, 6, 6),
    api(ApiKey::METADATA, 0, 12, 9),
    api(ApiKey::OFFSET_COMMIT, 0, 8, 8),
    api(ApiKey::OFFSET_FETCH, 0, 7, 6),
    api(ApiKey::FIND_COORDINATOR, 0, 6, 3),
    api(ApiKey::JOIN_GROUP, 0, 9, 6),
    api(ApiKey::HEARTBEAT, 0, 4, 4),
    api(ApiKey::LEAVE_GROUP, 0, 5, 4),
    api(ApiKey::SYNC_GROUP, 0, 5, 4),
    api(ApiKey::DESCRIBE_GROUPS, 0, 5, 5),
    api(ApiKey::LIST_GROUPS, 0, 5, 3),
    api(ApiKey::API_VERSIONS, 0, 4, 3),
    api(ApiKey::CREATE_TOPICS, 0, 7, 5),
    api(ApiKey::DELETE_TOPICS, 0, 5, 4),
    api(ApiKey::DELETE_RECORDS, 0, 2, 2),
    api(ApiKey::OFFSET_FOR_LEADER_EPOCH, 0, 4, 4),
    api(ApiKey::DESCRIBE_CONFIGS, 0, 4, 4),
    api(ApiKey::CREATE_PARTITIONS, 0, 3, 2),
    api(ApiKey::DESCRIBE_CLUSTER, 0, 1, 0),
    api(ApiKey::INIT_PRODUCER_ID, 0, 4, 2),
    api(ApiKey::ALTER_CONFIGS, 0, 2, 2),
    api(ApiKey::DESCRIBE_LOG_DIRS, 0, 4, 2),
    api(ApiKey::DELETE_GROUPS, 0, 2, 2),
    api(ApiKey::ELECT_LEADERS, 0, 2, 2),
    api(ApiKey::INCREMENTAL_ALTER_CONFIGS, 0, 1, 1),
    api(ApiKey::ALTER_PARTITION_REASSIGNMENTS, 0, 0, 0),
    api(ApiKey::LIST_PARTITION_REASSIGNMENTS, 0, 0, 0),
    api(ApiKey::OFFSET_DELETE, 0, 0, 1),
    api(ApiKey::DESCRIBE_PRODUCERS, 0, 0, 0),
    api(ApiKey::SASL_HANDSHAKE, 0, 1, 2),
    api(ApiKey::SASL_AUTHENTICATE, 0, 2, 2),
    api(ApiKey::DESCRIBE_USER_SCRAM_CREDENTIALS, 0, 0, 0),
    api(ApiKey::ALTER_USER_SCRAM_CREDENTIALS, 0, 0, 0),
    api(ApiKey::ADD_PARTITIONS_TO_TXN, 0, 3, 3),
    api(ApiKey::ADD_OFFSETS_TO_TXN, 0, 3, 3),
    api(ApiKey::END_TXN, 0, 3, 3),
    api(ApiKey::TXN_OFFSET_COMMIT, 0, 3, 3),
    api(ApiKey::DESCRIBE_TRANSACTIONS, 0, 0, 0),
    api(ApiKey::LIST_TRANSACTIONS, 0, 0, 0),
    api(ApiKey::DESCRIBE_ACLS, 0, 3, 2),
    api(ApiKey::CREATE_ACLS, 0, 3, 2),
    api(ApiKey::DELETE_ACLS, 0, 3, 2),
];

const fn api(key: ApiKey, min: i16, max: i16, flex: i16) -> ApiSupport {
    ApiSupport {
        key,
        min,
        max,
        flex,
    }
}

/// The support entry for `key`, if rokka speaks it at all.
pub fn support(key: ApiKey) -> Option<&'static ApiSupport> {
    SUPPORTED.iter().find(|s| s.key == key)
}

/// True if `version` of `key` is flexible (uses header v2 / v1, compact types).
pub fn is_flexible(key: ApiKey, version: i16) -> bool {
    support(key).is_some_and(|s| version >= s.flex)
}

/// Why a Kafka header, body or record set failed to decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes end inside `field`.
    #[error("truncated at {field}")]
    Short {
        /// The field being read.
        field: &'static str,
    },
    /// `field` holds a value that cannot be right (bad length, bad UTF-8...).
    #[error("invalid {field}")]
    Invalid {
        /// The offending field.
        field: &'static str,
    },
    /// (api key, version) is not one rokka speaks.
    #[error("unsupported api {key} version {version}")]
    Unsupported {
        /// API key.
        key: i16,
        /// Version.
        version: i16,
    },
    /// A record batch or message CRC does not match.
    #[error("{what} CRC mismatch")]
    Crc {
        /// Which checksum.
        what: &'static str,
    },
    /// Compressed records cannot be decompressed.
    #[error("cannot decompress {codec} records")]
    Compression {
        /// The codec named by the attributes.
        codec: &'static str,
    },
}

impl DecodeError {
    pub(crate) fn short(field: &'static str) -> DecodeError {
        DecodeError::Short { field }
    }
}

/// Kafka error codes rokka returns (apache/kafka `Errors.java`).
pub mod error_code {
    /// No error.
    pub const NONE: i16 = 0;
    /// Fetch/list offset outside the log.
    pub const OFFSET_OUT_OF_RANGE: i16 = 1;
    /// CRC or decompression failure.
    pub const CORRUPT_MESSAGE: i16 = 2;
    /// Topic or partition unknown.
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    /// No leader for the partition yet (cluster mode, before an election).
    pub const LEADER_NOT_AVAILABLE: i16 = 5;
    /// This broker does not lead the partition (a slave in cluster mode).
    pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    /// Record batch larger than allowed.
    pub const MESSAGE_TOO_LARGE: i16 = 10;
    /// Coordinator still loading (unused: no loading phase).
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    /// Bad topic name.
    pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
    /// Append refused: the in-sync set is smaller than `min.insync.replicas`.
    pub const NOT_ENOUGH_REPLICAS: i16 = 19;
    /// Appended, but too few replicas acknowledged it in time.
    pub const NOT_ENOUGH_REPLICAS_AFTER_APPEND: i16 = 20;
    /// The coordinator of the group is another node.
    pub const NOT_COORDINATOR: i16 = 16;
    /// Generation mismatch.
    pub const ILLEGAL_GENERATION: i16 = 22;
    /// No common protocol among members.
    pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
    /// Bad group id.
    pub const INVALID_GROUP_ID: i16 = 24;
    /// Member id unknown to the group.
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    /// Bad session timeout.
    pub const INVALID_SESSION_TIMEOUT: i16 = 26;
    /// The group is rebalancing.
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    /// Unsupported version.
    pub const UNSUPPORTED_VERSION: i16 = 35;
    /// Topic already exists.
    pub const TOPIC_ALREADY_EXISTS: i16 = 36;
    /// Partition count out of range.
    pub const INVALID_PARTITIONS: i16 = 37;
    /// Replication factor other than 1.
    pub const INVALID_REPLICATION_FACTOR: i16 = 38;
    /// Manual replica assignment not supported.
    pub const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
    /// Sequence gap from an idempotent producer.
    pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
    /// POLICY_VIOLATION (non-retriable): the request breaks a broker policy.
    pub const POLICY_VIOLATION: i16 = 44;
    /// Admin request sent to a broker that is not the controller
    /// (retriable: the client refreshes Metadata and sends it again).
    pub const NOT_CONTROLLER: i16 = 41;
    /// The request's current leader epoch is older than the leader's
    /// (retriable: the client refreshes Metadata).
    pub const FENCED_LEADER_EPOCH: i16 = 74;
    /// The request's current leader epoch is newer than the leader's
    /// (retriable: this broker has not seen the new term yet).
    pub const UNKNOWN_LEADER_EPOCH: i16 = 75;
    /// Producer epoch older than the current one.
    pub const INVALID_PRODUCER_EPOCH: i16 = 47;
    /// Malformed but parseable request.
    pub const INVALID_REQUEST: i16 = 42;
    /// Storage error.
    pub const KAFKA_STORAGE_ERROR: i16 = 56;
    /// Topic id not known (Metadata v12 look-up by id).
    pub const UNKNOWN_TOPIC_ID: i16 = 100;
    /// DescribeCluster asked for an endpoint type we do not have.
    pub const UNSUPPORTED_ENDPOINT_TYPE: i16 = 119;
    /// Rejoin with the member id given.
    pub const MEMBER_ID_REQUIRED: i16 = 79;
    /// Request not allowed at cluster level (or by this broker).
    pub const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
    /// No authorizer configured (ACL admin APIs).
    pub const SECURITY_DISABLED: i16 = 54;
    /// Topic access denied.
    pub const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
    /// Group access denied.
    pub const GROUP_AUTHORIZATION_FAILED: i16 = 30;
    /// Transactional id access denied.
    pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
    /// Bad config name or value.
    pub const INVALID_CONFIG: i16 = 40;
    /// The group still has members.
    pub const NON_EMPTY_GROUP: i16 = 68;
    /// The group does not exist.
    pub const GROUP_ID_NOT_FOUND: i16 = 69;
    /// Leader election not needed: the preferred replica leads.
    pub const ELECTION_NOT_NEEDED: i16 = 84;
    /// No reassignment to cancel.
    pub const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;
    /// The group's members still consume the topic.
    pub const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;
    /// A record or batch a broker does not accept (a client's control batch).
    pub const INVALID_RECORD: i16 = 87;
    /// The operation was not attempted because another part failed.
    pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
    /// The transaction is not in a state that allows the request.
    pub const INVALID_TXN_STATE: i16 = 48;
    /// The producer id does not belong to the transactional id.
    pub const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
    /// Transaction timeout above `transaction.max.timeout.ms` or not positive.
    pub const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
    /// Another request on the same transaction is being completed.
    pub const CONCURRENT_TRANSACTIONS: i16 = 51;
    /// A newer producer with the same transactional id exists.
    pub const PRODUCER_FENCED: i16 = 90;
    /// DescribeTransactions of an unknown transactional id.
    pub const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;
    /// Any other error.
    pub const UNKNOWN_SERVER_ERROR: i16 = -1;
}
