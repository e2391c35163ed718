//! The one list of served request codes per listener. Anything else gets
//! REQUEST_CODE_NOT_SUPPORTED with a remark naming the code.

use rokka_protocols::remoting::{RemotingCommand, RequestCode as C, ResponseCode};
use tracing::debug;

use super::conn::ConnInfo;
use super::context::{Ctx, HResult, HandlerError, Reply, Role};
use super::{
    acl, acl_admin, admin, broker_config, clients, namesrv, offsets, pop, pop_ack, pop_assign,
    pull, query, relay, reset, send, stats, sub_groups, transaction,
};

/// Runs the handler for `req` and turns its outcome into a reply.
#[tracing::instrument(level = "debug", skip_all, fields(code = req.code, opaque = req.opaque, peer = %conn.peer))]
pub(crate) async fn handle(ctx: &Ctx, conn: &ConnInfo, role: Role, req: RemotingCommand) -> Reply {
    let start = std::time::Instant::now();
    ctx.metrics
        .requests
        .with_label_values(&[&req.code.to_string()])
        .inc();
    let result = match role {
        Role::NameServer => namesrv_code(ctx, &req),
        Role::Broker => match &ctx.broker.security.plain_acl {
            Some(plain) => match acl::check(ctx, plain, conn, &req) {
                Ok(()) => broker_code(ctx, conn, &req).await,
                Err(e) => Err(e),
            },
            None => broker_code(ctx, conn, &req).await,
        },
    };
    let reply = match result {
        Ok(mut r) => {
            r.cmd.opaque = req.opaque;
            r
        }
        Err(HandlerError { code, remark }) => {
            debug!(
                code = req.code,
                opaque = req.opaque,
                "request failed: {remark}"
            );
            let mut cmd = req.response_to(code.0);
            cmd.remark = Some(remark);
            Reply::new(cmd)
        }
    };
    crate::metrics::traffic().remoting_request(req.code, start, reply.cmd.code);
    reply
}

fn not_supported(req: &RemotingCommand) -> HResult {
    Err(HandlerError::new(
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
        format!(" request type {} not supported", req.code),
    ))
}

fn namesrv_code(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    match C(req.code) {
        C::GET_ROUTEINFO_BY_TOPIC => namesrv::route(ctx, req),
        C::GET_BROKER_CLUSTER_INFO => namesrv::cluster_info(ctx, req),
        C::REGISTER_BROKER => namesrv::register_broker(ctx, req),
        C::UNREGISTER_BROKER => namesrv::unregister_broker(ctx, req),
        C::GET_ALL_TOPIC_LIST_FROM_NAMESERVER
        | C::GET_TOPICS_BY_CLUSTER
        | C::GET_SYSTEM_TOPIC_LIST_FROM_NS => namesrv::topic_list(ctx, req),
        C::PUT_KV_CONFIG => namesrv::put_kv(ctx, req),
        C::GET_KV_CONFIG => namesrv::get_kv(ctx, req),
        C::DELETE_KV_CONFIG => namesrv::delete_kv(ctx, req),
        C::GET_KVLIST_BY_NAMESPACE => namesrv::kv_list(ctx, req),
        C::DELETE_TOPIC_IN_NAMESRV => namesrv::delete_topic(ctx, req),
        C::GET_NAMESRV_CONFIG => broker_config::get_namesrv_config(ctx, req),
        C::UPDATE_NAMESRV_CONFIG => broker_config::update_namesrv_config(ctx, req),
        C::WIPE_WRITE_PERM_OF_BROKER => broker_config::wipe_write_perm(ctx, req),
        C::ADD_WRITE_PERM_OF_BROKER => broker_config::add_write_perm(ctx, req),
        _ => not_supported(req),
    }
}

async fn broker_code(ctx: &Ctx, conn: &ConnInfo, req: &RemotingCommand) -> HResult {
    match C(req.code) {
        C::SEND_MESSAGE | C::SEND_MESSAGE_V2 => send::send_message(ctx, conn, req).await,
        C::SEND_BATCH_MESSAGE => send::send_batch(ctx, conn, req).await,
        C::PULL_MESSAGE | C::LITE_PULL_MESSAGE => pull::pull(ctx, req).await,
        C::HEART_BEAT => clients::heartbeat(ctx, conn, req),
        C::UNREGISTER_CLIENT => clients::unregister(ctx, conn, req),
        C::GET_CONSUMER_LIST_BY_GROUP => clients::consumer_list(ctx, req),
        C::CHECK_CLIENT_CONFIG => clients::check_client_config(ctx, req),
        C::QUERY_CONSUMER_OFFSET => offsets::query_consumer_offset(ctx, req),
        C::UPDATE_CONSUMER_OFFSET => offsets::update_consumer_offset(ctx, req),
        C::GET_MAX_OFFSET => offsets::max_offset(ctx, req),
        C::GET_MIN_OFFSET => offsets::min_offset(ctx, req),
        C::SEARCH_OFFSET_BY_TIMESTAMP => offsets::search_by_timestamp(ctx, req),
        C::GET_EARLIEST_MSG_STORETIME => offsets::earliest_store_time(ctx, req),
        C::QUERY_MESSAGE => query::query_message(ctx, req),
        C::VIEW_MESSAGE_BY_ID => query::view_by_id(ctx, req),
        C::UPDATE_AND_CREATE_TOPIC => admin::update_and_create_topic(ctx, req),
        C::GET_ALL_TOPIC_CONFIG => admin::all_topic_config(ctx, req),
        C::LOCK_BATCH_MQ => admin::lock_batch(ctx, req),
        C::UNLOCK_BATCH_MQ => admin::unlock_batch(ctx, req),
        C::CONSUMER_SEND_MSG_BACK => admin::send_back(ctx, conn, req).await,
        C::GET_TOPIC_STATS_INFO => stats::topic_stats(ctx, req),
        C::GET_CONSUME_STATS => stats::consume_stats(ctx, req),
        C::GET_BROKER_RUNTIME_INFO => stats::runtime_info(ctx, req),
        C::DELETE_TOPIC_IN_BROKER => stats::delete_topic(ctx, req),
        C::GET_CONSUMER_CONNECTION_LIST => clients::consumer_connections(ctx, req),
        C::GET_PRODUCER_CONNECTION_LIST => clients::producer_connections(ctx, req),
        C::QUERY_TOPIC_CONSUME_BY_WHO => clients::consumed_by(ctx, req),
        C::GET_TOPIC_CONFIG => admin::topic_config(ctx, req),
        C::END_TRANSACTION => transaction::end_transaction(ctx, req).await,
        C::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => sub_groups::update_and_create(ctx, req),
        C::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => sub_groups::get_all(ctx, req),
        C::GET_SUBSCRIPTIONGROUP_CONFIG => sub_groups::get_one(ctx, req),
        C::DELETE_SUBSCRIPTIONGROUP => sub_groups::delete(ctx, req),
        C::GET_BROKER_CONFIG => broker_config::get_broker_config(ctx, req),
        C::UPDATE_BROKER_CONFIG => broker_config::update_broker_config(ctx, req),
        C::INVOKE_BROKER_TO_RESET_OFFSET => reset::reset_offset(ctx, req),
        C::CLONE_GROUP_OFFSET => reset::clone_group_offset(ctx, req),
        C::QUERY_CONSUME_TIME_SPAN => reset::consume_time_span(ctx, req),
        C::GET_CONSUMER_RUNNING_INFO => relay::consumer_running_info(ctx, req).await,
        C::CONSUME_MESSAGE_DIRECTLY => relay::consume_message_directly(ctx, req).await,
        C::INVOKE_BROKER_TO_GET_CONSUMER_STATUS => relay::consumer_status(ctx, req).await,
        C::UPDATE_AND_CREATE_ACL_CONFIG => acl_admin::update(ctx, req),
        C::DELETE_ACL_CONFIG => acl_admin::delete(ctx, req),
        C::GET_BROKER_CLUSTER_ACL_INFO => acl_admin::info(ctx, req),
        C::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG => acl_admin::update_global_white(ctx, req),
        C::GET_BROKER_CLUSTER_ACL_CONFIG => acl_admin::config(ctx, req),
        C::POP_MESSAGE => pop::pop(ctx, req).await,
        C::ACK_MESSAGE => pop_ack::ack(ctx, req),
        C::BATCH_ACK_MESSAGE => pop_ack::batch_ack(ctx, req),
        C::CHANGE_MESSAGE_INVISIBLETIME => pop_ack::change_invisible(ctx, req),
        C::NOTIFICATION => pop::notification(ctx, req).await,
        C::POLLING_INFO => pop::polling_info(ctx, req),
        C::QUERY_ASSIGNMENT => pop_assign::query_assignment(ctx, req),
        C::SET_MESSAGE_REQUEST_MODE => pop_assign::set_request_mode(ctx, req),
        _ => not_supported(req),
    }
}
