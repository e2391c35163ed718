//! Routes one request frame: parses the header, checks the version against
//! `rokka_protocols::kafka::SUPPORTED`, runs the API's handler and prepends
//! the response header. The only list of handled APIs.

use bytes::Bytes;
use rokka_protocols::kafka::header::parse_request_header;
use rokka_protocols::kafka::{support, ApiKey, ResponseHeader};
use tracing::debug;

use super::conn::ConnInfo;
use super::request::{with_header, CloseReason, Request};
use super::{
    acl_admin, add_offsets_to_txn, add_partitions_to_txn, alter_configs, api_versions,
    delete_groups, delete_records, describe_configs, describe_log_dirs, describe_producers,
    describe_transactions, end_txn, fetch, find_coordinator, group, init_producer_id, list_offsets,
    metadata, offset_commit, offset_delete, offset_fetch, offset_for_leader_epoch, partition_admin,
    produce, scram_admin, topics_admin, txn_offset_commit, KafkaContext,
};

/// Handles one frame; `Ok(None)` means no response (Produce with acks=0).
/// Records its latency and, if it closes the connection, the reason.
pub async fn handle(
    ctx: &KafkaContext,
    conn: &ConnInfo,
    frame: Bytes,
) -> Result<Option<Vec<Bytes>>, CloseReason> {
    let start = std::time::Instant::now();
    // Unknown keys share label -1, so clients cannot grow the label set.
    let api = frame
        .get(..2)
        .map(|b| i16::from_be_bytes([b[0], b[1]]))
        .filter(|k| support(ApiKey(*k)).is_some())
        .unwrap_or(-1);
    let result = route(ctx, conn, frame).await;
    let error = result.as_ref().err().map(CloseReason::label);
    crate::metrics::traffic().kafka_request(api, start, error);
    result
}

async fn route(
    ctx: &KafkaContext,
    conn: &ConnInfo,
    frame: Bytes,
) -> Result<Option<Vec<Bytes>>, CloseReason> {
    let header = parse_request_header(&frame).map_err(CloseReason::Header)?;
    let (key, version) = (header.api_key, header.api_version);
    ctx.metrics
        .requests_total
        .with_label_values(&[&key.0.to_string()])
        .inc();
    debug!(api = key.0, version, correlation_id = header.correlation_id, peer = %conn.peer, "kafka request");
    let resp_header = ResponseHeader::for_request(&header);
    if key == ApiKey::API_VERSIONS && version > api_versions::MAX_VERSION {
        return Ok(Some(with_header(resp_header, api_versions::unsupported())));
    }
    let supported = support(key).is_some_and(|s| (s.min..=s.max).contains(&version));
    if !supported {
        return Err(CloseReason::Unsupported {
            key: key.0,
            version,
        });
    }
    let req = Request {
        header,
        frame: &frame,
        conn,
    };
    let body = match key {
        ApiKey::API_VERSIONS => api_versions::handle(&req)?,
        ApiKey::METADATA => metadata::handle(ctx, &req)?,
        ApiKey::PRODUCE => match produce::handle(ctx, &req).await? {
            Some(w) => w,
            None => return Ok(None),
        },
        ApiKey::FETCH => fetch::handle(ctx, &req).await?,
        ApiKey::LIST_OFFSETS => list_offsets::handle(ctx, &req)?,
        ApiKey::FIND_COORDINATOR => find_coordinator::handle(ctx, &req)?,
        ApiKey::JOIN_GROUP => group::handlers::join(ctx, &req).await?,
        ApiKey::SYNC_GROUP => group::handlers::sync(ctx, &req).await?,
        ApiKey::HEARTBEAT => group::handlers::heartbeat(ctx, &req)?,
        ApiKey::LEAVE_GROUP => group::handlers::leave(ctx, &req)?,
        ApiKey::OFFSET_COMMIT => offset_commit::handle(ctx, &req).await?,
        ApiKey::OFFSET_FETCH => offset_fetch::handle(ctx, &req).await?,
        ApiKey::INIT_PRODUCER_ID => init_producer_id::handle(ctx, &req).await?,
        ApiKey::ADD_PARTITIONS_TO_TXN => add_partitions_to_txn::handle(ctx, &req).await?,
        ApiKey::ADD_OFFSETS_TO_TXN => add_offsets_to_txn::handle(ctx, &req).await?,
        ApiKey::END_TXN => end_txn::handle(ctx, &req).await?,
        ApiKey::TXN_OFFSET_COMMIT => txn_offset_commit::handle(ctx, &req).await?,
        ApiKey::DESCRIBE_TRANSACTIONS => describe_transactions::describe(ctx, &req)?,
        ApiKey::LIST_TRANSACTIONS => describe_transactions::list(ctx, &req)?,
        ApiKey::LIST_GROUPS => group::handlers::list(ctx, &req)?,
        ApiKey::DESCRIBE_GROUPS => group::handlers::describe(ctx, &req)?,
        ApiKey::CREATE_TOPICS => topics_admin::create(ctx, &req)?,
        ApiKey::DELETE_TOPICS => topics_admin::delete(ctx, &req)?,
        ApiKey::DELETE_RECORDS => delete_records::handle(ctx, &req)?,
        ApiKey::DESCRIBE_CONFIGS => describe_configs::handle(ctx, &req)?,
        ApiKey::CREATE_PARTITIONS => topics_admin::create_partitions(ctx, &req)?,
        ApiKey::OFFSET_FOR_LEADER_EPOCH => offset_for_leader_epoch::handle(ctx, &req)?,
        ApiKey::DESCRIBE_CLUSTER => metadata::describe_cluster(ctx, &req)?,
        ApiKey::ALTER_CONFIGS => alter_configs::handle(ctx, &req)?,
        ApiKey::INCREMENTAL_ALTER_CONFIGS => alter_configs::handle_incremental(ctx, &req)?,
        ApiKey::DESCRIBE_LOG_DIRS => describe_log_dirs::handle(ctx, &req)?,
        ApiKey::DELETE_GROUPS => delete_groups::handle(ctx, &req)?,
        ApiKey::OFFSET_DELETE => offset_delete::handle(ctx, &req)?,
        ApiKey::DESCRIBE_PRODUCERS => describe_producers::handle(ctx, &req)?,
        ApiKey::ELECT_LEADERS => partition_admin::elect_leaders(ctx, &req)?,
        ApiKey::LIST_PARTITION_REASSIGNMENTS => partition_admin::list_reassignments(ctx, &req)?,
        ApiKey::ALTER_PARTITION_REASSIGNMENTS => partition_admin::alter_reassignments(ctx, &req)?,
        ApiKey::DESCRIBE_USER_SCRAM_CREDENTIALS => scram_admin::describe(ctx, &req)?,
        ApiKey::ALTER_USER_SCRAM_CREDENTIALS => scram_admin::alter(ctx, &req)?,
        ApiKey::DESCRIBE_ACLS => acl_admin::describe(ctx, &req)?,
        ApiKey::CREATE_ACLS => acl_admin::create(ctx, &req)?,
        ApiKey::DELETE_ACLS => acl_admin::delete(ctx, &req)?,
        _ => {
            return Err(CloseReason::Unsupported {
                key: key.0,
                version,
            })
        }
    };
    Ok(Some(with_header(resp_header, body)))
}
