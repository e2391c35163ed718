//! Request, response and language codes of the remoting protocol, as named
//! constants on open newtypes: an unknown code is carried, never rejected at
//! parse time, so it reaches the `REQUEST_CODE_NOT_SUPPORTED` reply.
//!
//! Values from upstream `RequestCode.java`, `ResponseCode.java`,
//! `RemotingSysResponseCode.java` and `LanguageCode.java`.

use std::fmt;

/// A request code (`code` of a request frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestCode(pub i32);

impl RequestCode {
    /// SEND_MESSAGE: single message, long header names.
    pub const SEND_MESSAGE: RequestCode = RequestCode(10);
    /// PULL_MESSAGE.
    pub const PULL_MESSAGE: RequestCode = RequestCode(11);
    /// QUERY_MESSAGE (by key or unique key, through the index).
    pub const QUERY_MESSAGE: RequestCode = RequestCode(12);
    /// QUERY_CONSUMER_OFFSET.
    pub const QUERY_CONSUMER_OFFSET: RequestCode = RequestCode(14);
    /// UPDATE_CONSUMER_OFFSET (usually oneway).
    pub const UPDATE_CONSUMER_OFFSET: RequestCode = RequestCode(15);
    /// UPDATE_AND_CREATE_TOPIC.
    pub const UPDATE_AND_CREATE_TOPIC: RequestCode = RequestCode(17);
    /// GET_ALL_TOPIC_CONFIG.
    pub const GET_ALL_TOPIC_CONFIG: RequestCode = RequestCode(21);
    /// GET_BROKER_RUNTIME_INFO.
    pub const GET_BROKER_RUNTIME_INFO: RequestCode = RequestCode(28);
    /// SEARCH_OFFSET_BY_TIMESTAMP.
    pub const SEARCH_OFFSET_BY_TIMESTAMP: RequestCode = RequestCode(29);
    /// GET_MAX_OFFSET.
    pub const GET_MAX_OFFSET: RequestCode = RequestCode(30);
    /// GET_MIN_OFFSET.
    pub const GET_MIN_OFFSET: RequestCode = RequestCode(31);
    /// GET_EARLIEST_MSG_STORETIME.
    pub const GET_EARLIEST_MSG_STORETIME: RequestCode = RequestCode(32);
    /// VIEW_MESSAGE_BY_ID (by CommitLog offset).
    pub const VIEW_MESSAGE_BY_ID: RequestCode = RequestCode(33);
    /// HEART_BEAT.
    pub const HEART_BEAT: RequestCode = RequestCode(34);
    /// UNREGISTER_CLIENT.
    pub const UNREGISTER_CLIENT: RequestCode = RequestCode(35);
    /// CONSUMER_SEND_MSG_BACK.
    pub const CONSUMER_SEND_MSG_BACK: RequestCode = RequestCode(36);
    /// END_TRANSACTION.
    pub const END_TRANSACTION: RequestCode = RequestCode(37);
    /// GET_CONSUMER_LIST_BY_GROUP.
    pub const GET_CONSUMER_LIST_BY_GROUP: RequestCode = RequestCode(38);
    /// CHECK_TRANSACTION_STATE (broker → client).
    pub const CHECK_TRANSACTION_STATE: RequestCode = RequestCode(39);
    /// NOTIFY_CONSUMER_IDS_CHANGED (broker → client, oneway).
    pub const NOTIFY_CONSUMER_IDS_CHANGED: RequestCode = RequestCode(40);
    /// LOCK_BATCH_MQ.
    pub const LOCK_BATCH_MQ: RequestCode = RequestCode(41);
    /// UNLOCK_BATCH_MQ.
    pub const UNLOCK_BATCH_MQ: RequestCode = RequestCode(42);
    /// CHECK_CLIENT_CONFIG.
    pub const CHECK_CLIENT_CONFIG: RequestCode = RequestCode(46);
    /// PUT_KV_CONFIG (NameServer).
    pub const PUT_KV_CONFIG: RequestCode = RequestCode(100);
    /// GET_KV_CONFIG (NameServer).
    pub const GET_KV_CONFIG: RequestCode = RequestCode(101);
    /// DELETE_KV_CONFIG (NameServer).
    pub const DELETE_KV_CONFIG: RequestCode = RequestCode(102);
    /// REGISTER_BROKER (NameServer).
    pub const REGISTER_BROKER: RequestCode = RequestCode(103);
    /// UNREGISTER_BROKER (NameServer).
    pub const UNREGISTER_BROKER: RequestCode = RequestCode(104);
    /// GET_ROUTEINFO_BY_TOPIC (NameServer).
    pub const GET_ROUTEINFO_BY_TOPIC: RequestCode = RequestCode(105);
    /// GET_BROKER_CLUSTER_INFO (NameServer).
    pub const GET_BROKER_CLUSTER_INFO: RequestCode = RequestCode(106);
    /// GET_TOPIC_STATS_INFO.
    pub const GET_TOPIC_STATS_INFO: RequestCode = RequestCode(202);
    /// GET_CONSUMER_CONNECTION_LIST.
    pub const GET_CONSUMER_CONNECTION_LIST: RequestCode = RequestCode(203);
    /// GET_CONSUME_STATS.
    pub const GET_CONSUME_STATS: RequestCode = RequestCode(208);
    /// DELETE_TOPIC_IN_BROKER.
    pub const DELETE_TOPIC_IN_BROKER: RequestCode = RequestCode(215);
    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER (NameServer).
    pub const GET_ALL_TOPIC_LIST_FROM_NAMESERVER: RequestCode = RequestCode(206);
    /// DELETE_TOPIC_IN_NAMESRV (NameServer).
    pub const DELETE_TOPIC_IN_NAMESRV: RequestCode = RequestCode(216);
    /// GET_KVLIST_BY_NAMESPACE (NameServer).
    pub const GET_KVLIST_BY_NAMESPACE: RequestCode = RequestCode(219);
    /// GET_TOPICS_BY_CLUSTER (NameServer).
    pub const GET_TOPICS_BY_CLUSTER: RequestCode = RequestCode(224);
    /// GET_SYSTEM_TOPIC_LIST_FROM_NS (NameServer).
    pub const GET_SYSTEM_TOPIC_LIST_FROM_NS: RequestCode = RequestCode(304);
    /// QUERY_TOPIC_CONSUME_BY_WHO.
    pub const QUERY_TOPIC_CONSUME_BY_WHO: RequestCode = RequestCode(300);
    /// SEND_MESSAGE_V2: single message, one-letter header names.
    pub const SEND_MESSAGE_V2: RequestCode = RequestCode(310);
    /// SEND_BATCH_MESSAGE.
    pub const SEND_BATCH_MESSAGE: RequestCode = RequestCode(320);
    /// GET_TOPIC_CONFIG (5.x).
    pub const GET_TOPIC_CONFIG: RequestCode = RequestCode(351);
    /// LITE_PULL_MESSAGE (5.x lite pull consumer).
    pub const LITE_PULL_MESSAGE: RequestCode = RequestCode(361);
}

impl fmt::Display for RequestCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A response code (`code` of a response frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResponseCode(pub i32);

impl ResponseCode {
    /// SUCCESS.
    pub const SUCCESS: ResponseCode = ResponseCode(0);
    /// SYSTEM_ERROR.
    pub const SYSTEM_ERROR: ResponseCode = ResponseCode(1);
    /// SYSTEM_BUSY.
    pub const SYSTEM_BUSY: ResponseCode = ResponseCode(2);
    /// REQUEST_CODE_NOT_SUPPORTED.
    pub const REQUEST_CODE_NOT_SUPPORTED: ResponseCode = ResponseCode(3);
    /// SLAVE_NOT_AVAILABLE (SYNC_MASTER: stored, but too few replicas in sync).
    pub const SLAVE_NOT_AVAILABLE: ResponseCode = ResponseCode(11);
    /// FLUSH_SLAVE_TIMEOUT (SYNC_MASTER: stored, replicas did not ack in time).
    pub const FLUSH_SLAVE_TIMEOUT: ResponseCode = ResponseCode(12);
    /// MESSAGE_ILLEGAL.
    pub const MESSAGE_ILLEGAL: ResponseCode = ResponseCode(13);
    /// SERVICE_NOT_AVAILABLE.
    pub const SERVICE_NOT_AVAILABLE: ResponseCode = ResponseCode(14);
    /// NO_PERMISSION.
    pub const NO_PERMISSION: ResponseCode = ResponseCode(16);
    /// TOPIC_NOT_EXIST.
    pub const TOPIC_NOT_EXIST: ResponseCode = ResponseCode(17);
    /// PULL_NOT_FOUND.
    pub const PULL_NOT_FOUND: ResponseCode = ResponseCode(19);
    /// PULL_RETRY_IMMEDIATELY.
    pub const PULL_RETRY_IMMEDIATELY: ResponseCode = ResponseCode(20);
    /// PULL_OFFSET_MOVED.
    pub const PULL_OFFSET_MOVED: ResponseCode = ResponseCode(21);
    /// QUERY_NOT_FOUND.
    pub const QUERY_NOT_FOUND: ResponseCode = ResponseCode(22);
    /// SUBSCRIPTION_PARSE_FAILED.
    pub const SUBSCRIPTION_PARSE_FAILED: ResponseCode = ResponseCode(23);
    /// SUBSCRIPTION_NOT_EXIST.
    pub const SUBSCRIPTION_NOT_EXIST: ResponseCode = ResponseCode(24);
    /// SUBSCRIPTION_NOT_LATEST.
    pub const SUBSCRIPTION_NOT_LATEST: ResponseCode = ResponseCode(25);
    /// CONSUMER_NOT_ONLINE.
    pub const CONSUMER_NOT_ONLINE: ResponseCode = ResponseCode(206);
    /// INVALID_PARAMETER (5.x).
    pub const INVALID_PARAMETER: ResponseCode = ResponseCode(29);
    /// UPDATE_AND_CREATE_ACL_CONFIG_FAILED.
    pub const UPDATE_AND_CREATE_ACL_CONFIG_FAILED: ResponseCode = ResponseCode(209);
    /// DELETE_ACL_CONFIG_FAILED.
    pub const DELETE_ACL_CONFIG_FAILED: ResponseCode = ResponseCode(210);
    /// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED.
    pub const UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED: ResponseCode = ResponseCode(211);
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The sender's language (`language`): a name in JSON headers, a byte in
/// binary ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LanguageCode(pub u8);

const LANGUAGES: [&str; 14] = [
    "JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP",
    "OMS", "RUST", "NODE_JS",
];

impl LanguageCode {
    /// JAVA, what rokka puts in its own frames.
    pub const JAVA: LanguageCode = LanguageCode(0);
    /// GO.
    pub const GO: LanguageCode = LanguageCode(9);
    /// RUST.
    pub const RUST: LanguageCode = LanguageCode(12);
    /// OTHER, for names rokka does not know.
    pub const OTHER: LanguageCode = LanguageCode(7);

    /// The enum name (`"JAVA"`), or `"OTHER"` for an unknown byte.
    pub fn name(self) -> &'static str {
        LANGUAGES.get(self.0 as usize).copied().unwrap_or("OTHER")
    }

    /// The code for an enum name; unknown names map to OTHER.
    pub fn from_name(name: &str) -> LanguageCode {
        LANGUAGES
            .iter()
            .position(|n| *n == name)
            .map_or(LanguageCode::OTHER, |i| LanguageCode(i as u8))
    }
}

/// `flag` bit 0: the frame is a response.
pub const FLAG_RESPONSE: i32 = 1;
/// `flag` bit 1: the request is oneway (never answered).
pub const FLAG_ONEWAY: i32 = 2;

/// The `version` rokka puts in its frames (V4_9_7; ≥ 232 so clients allow SQL92).
pub const ROKKA_VERSION: i32 = 407;

/// Operators' codes (mqadmin, the RocketMQ Dashboard), values from upstream
/// `RequestCode.java`.
impl RequestCode {
    /// UPDATE_AND_CREATE_ACL_CONFIG: `accessKey`, `secretKey`, `whiteRemoteAddress`,
    /// `admin`, `defaultTopicPerm`, `defaultGroupPerm`, `topicPerms`, `groupPerms`.
    pub const UPDATE_AND_CREATE_ACL_CONFIG: RequestCode = RequestCode(50);
    /// DELETE_ACL_CONFIG: `accessKey`.
    pub const DELETE_ACL_CONFIG: RequestCode = RequestCode(51);
    /// GET_BROKER_CLUSTER_ACL_INFO: the ACL file's version in the response header.
    pub const GET_BROKER_CLUSTER_ACL_INFO: RequestCode = RequestCode(52);
    /// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG: `globalWhiteAddrs`, `aclFileFullPath`.
    pub const UPDATE_GLOBAL_WHITE_ADDRS_CONFIG: RequestCode = RequestCode(53);
    /// GET_BROKER_CLUSTER_ACL_CONFIG (5.x): body = accounts and white list.
    pub const GET_BROKER_CLUSTER_ACL_CONFIG: RequestCode = RequestCode(54);
    /// UPDATE_BROKER_CONFIG: body = properties text.
    pub const UPDATE_BROKER_CONFIG: RequestCode = RequestCode(25);
    /// GET_BROKER_CONFIG: body = properties text, `version` = DataVersion JSON.
    pub const GET_BROKER_CONFIG: RequestCode = RequestCode(26);
    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: body = SubscriptionGroupConfig JSON.
    pub const UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: RequestCode = RequestCode(200);
    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG: body = SubscriptionGroupWrapper JSON.
    pub const GET_ALL_SUBSCRIPTIONGROUP_CONFIG: RequestCode = RequestCode(201);
    /// GET_PRODUCER_CONNECTION_LIST: `producerGroup`.
    pub const GET_PRODUCER_CONNECTION_LIST: RequestCode = RequestCode(204);
    /// WIPE_WRITE_PERM_OF_BROKER (NameServer): `brokerName`.
    pub const WIPE_WRITE_PERM_OF_BROKER: RequestCode = RequestCode(205);
    /// DELETE_SUBSCRIPTIONGROUP: `groupName`, `cleanOffset`.
    pub const DELETE_SUBSCRIPTIONGROUP: RequestCode = RequestCode(207);
    /// RESET_CONSUMER_CLIENT_OFFSET: broker → consumer, oneway.
    pub const RESET_CONSUMER_CLIENT_OFFSET: RequestCode = RequestCode(220);
    /// GET_CONSUMER_STATUS_FROM_CLIENT: broker → consumer.
    pub const GET_CONSUMER_STATUS_FROM_CLIENT: RequestCode = RequestCode(221);
    /// INVOKE_BROKER_TO_RESET_OFFSET: `topic`, `group`, `timestamp`, `isForce`
    /// (5.x: `queueId`, `offset`).
    pub const INVOKE_BROKER_TO_RESET_OFFSET: RequestCode = RequestCode(222);
    /// INVOKE_BROKER_TO_GET_CONSUMER_STATUS.
    pub const INVOKE_BROKER_TO_GET_CONSUMER_STATUS: RequestCode = RequestCode(223);
    /// QUERY_CONSUME_TIME_SPAN: `topic`, `group`.
    pub const QUERY_CONSUME_TIME_SPAN: RequestCode = RequestCode(303);
    /// GET_CONSUMER_RUNNING_INFO (broker relays to the client).
    pub const GET_CONSUMER_RUNNING_INFO: RequestCode = RequestCode(307);
    /// CONSUME_MESSAGE_DIRECTLY (broker relays to the client).
    pub const CONSUME_MESSAGE_DIRECTLY: RequestCode = RequestCode(309);
    /// CLONE_GROUP_OFFSET: `srcGroup`, `destGroup`, `topic`, `offline`.
    pub const CLONE_GROUP_OFFSET: RequestCode = RequestCode(314);
    /// UPDATE_NAMESRV_CONFIG: body = properties text.
    pub const UPDATE_NAMESRV_CONFIG: RequestCode = RequestCode(318);
    /// GET_NAMESRV_CONFIG: body = properties text.
    pub const GET_NAMESRV_CONFIG: RequestCode = RequestCode(319);
    /// ADD_WRITE_PERM_OF_BROKER (NameServer, 5.x): `brokerName`.
    pub const ADD_WRITE_PERM_OF_BROKER: RequestCode = RequestCode(327);
    /// GET_SUBSCRIPTIONGROUP_CONFIG (5.x): `group`.
    pub const GET_SUBSCRIPTIONGROUP_CONFIG: RequestCode = RequestCode(352);
}

/// Response codes of the operators' requests.
impl ResponseCode {
    /// SUBSCRIPTION_GROUP_NOT_EXIST.
    pub const SUBSCRIPTION_GROUP_NOT_EXIST: ResponseCode = ResponseCode(26);
}
