//! RocketMQ ACL 1.0 on the broker port (ADR 016 addendum): with
//! `aclEnable=true` every request is checked before its handler runs, as
//! upstream's server RPC hook does. [`needed`] is upstream's table of what a
//! request code needs (`PlainAccessValidator.parse`); the decision is
//! `security::plain_acl`. A refusal is NO_PERMISSION (16) with upstream's
//! remark text, a metric (`rokka_authentications_total{listener="remoting",
//! mechanism="ACL",result="failure"}` for a bad identity,
//! `rokka_authorization_denials_total{protocol="rocketmq",resource_type}` for
//! a permission) and a rate-limited WARN line. Resources an account's own
//! lists do not name are asked of the shared authorizer for `User:<accessKey>`.

use std::sync::LazyLock;

use prometheus::IntCounter;
use rokka_protocols::remoting::body::HeartbeatData;
use rokka_protocols::remoting::{RemotingCommand, RequestCode as C, ResponseCode};

use super::conn::ConnInfo;
use super::context::{Ctx, HandlerError};
use crate::security::acl::{op, resource};
use crate::security::plain_acl::{group_key, perm, AclRequest, PlainAcl, RETRY_PREFIX};
use crate::security::{authentication_counter, count_denial, Principal};

static FAILURES: LazyLock<IntCounter> =
    LazyLock::new(|| authentication_counter("remoting", "ACL", false));
static SUCCESSES: LazyLock<IntCounter> =
    LazyLock::new(|| authentication_counter("remoting", "ACL", true));

/// Codes only an `admin: true` account may send: upstream's five plus the
/// ACL configuration codes (upstream leaves those to any valid account,
/// which lets any account grant itself everything).
fn admin_code(code: i32) -> bool {
    matches!(
        C(code),
        C::UPDATE_AND_CREATE_TOPIC
            | C::UPDATE_BROKER_CONFIG
            | C::DELETE_TOPIC_IN_BROKER
            | C::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
            | C::DELETE_SUBSCRIPTIONGROUP
            | C::UPDATE_AND_CREATE_ACL_CONFIG
            | C::DELETE_ACL_CONFIG
            | C::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG
            | C::GET_BROKER_CLUSTER_ACL_CONFIG
    )
}

/// The resources `req` needs and the permission on each (groups as
/// `%RETRY%<group>`), as upstream's `PlainAccessValidator.parse` lists them;
/// a batch send (not in upstream's table) is checked like SEND_MESSAGE_V2,
/// and LITE_PULL_MESSAGE like PULL_MESSAGE. The error is the remark.
pub(crate) fn needed(req: &RemotingCommand) -> Result<Vec<(String, u8)>, String> {
    let mut out = Vec::new();
    let mut add = |r: Option<String>, p: u8| {
        if let Some(r) = r {
            out.push((r, p));
        }
    };
    let ext = |k: &str| req.ext(k).map(str::to_string);
    let group = |k: &str| req.ext(k).map(group_key);
    let send =
        |topic: Option<String>, group_field: &str, add: &mut dyn FnMut(Option<String>, u8)| {
            if topic
                .as_deref()
                .is_some_and(|t| t.starts_with(RETRY_PREFIX))
            {
                add(req.ext(group_field).map(group_key), perm::SUB);
            } else {
                add(topic, perm::PUB);
            }
        };
    match C(req.code) {
        C::SEND_MESSAGE => send(ext("topic"), "group", &mut add),
        C::SEND_MESSAGE_V2 | C::SEND_BATCH_MESSAGE => send(ext("b"), "a", &mut add),
        C::CONSUMER_SEND_MSG_BACK => add(group("group"), perm::SUB),
        C::PULL_MESSAGE | C::LITE_PULL_MESSAGE => {
            add(ext("topic"), perm::SUB);
            add(group("consumerGroup"), perm::SUB);
        }
        C::QUERY_MESSAGE => add(ext("topic"), perm::SUB),
        C::HEART_BEAT => {
            let hb: HeartbeatData = serde_json::from_slice(&req.body).map_err(|e| e.to_string())?;
            for c in &hb.consumer_data_set {
                add(Some(group_key(&c.group_name)), perm::SUB);
                for s in &c.subscription_data_set {
                    add(Some(s.topic.clone()), perm::SUB);
                }
            }
        }
        C::UNREGISTER_CLIENT | C::GET_CONSUMER_LIST_BY_GROUP => {
            add(group("consumerGroup"), perm::SUB)
        }
        C::UPDATE_CONSUMER_OFFSET => {
            add(group("consumerGroup"), perm::SUB);
            add(ext("topic"), perm::SUB);
        }
        _ => {}
    }
    Ok(out)
}

/// The shared authorizer's answer for `User:<accessKey>`: PUB is Write on
/// the topic, SUB Read on the topic, a group permission Read on the group.
pub(crate) fn kafka_grant(
    ctx: &Ctx,
    host: &str,
    ak: &str,
    name: &str,
    group: bool,
    needed: u8,
) -> Option<bool> {
    let authorizer = &ctx.broker.security.acl;
    if !authorizer.enabled() {
        return None;
    }
    let (operation, resource_type) = match (group, needed) {
        (true, _) => (op::READ, resource::GROUP),
        (false, perm::PUB) => (op::WRITE, resource::TOPIC),
        (false, perm::SUB) => (op::READ, resource::TOPIC),
        (false, _) => (op::DESCRIBE, resource::TOPIC),
    };
    authorizer.explicit(&Principal::user(ak), host, operation, resource_type, name)
}

/// Checks `req` against `acl`; `Err` is the NO_PERMISSION reply.
pub(crate) fn check(
    ctx: &Ctx,
    acl: &PlainAcl,
    conn: &ConnInfo,
    req: &RemotingCommand,
) -> Result<(), HandlerError> {
    acl.reload_if_changed();
    let host = conn.peer.ip().to_canonical().to_string();
    let refuse = |remark: String| HandlerError::new(ResponseCode::NO_PERMISSION, remark);
    let resources = needed(req).map_err(|e| {
        FAILURES.inc();
        refuse(e)
    })?;
    let request = AclRequest {
        code: req.code,
        admin_code: admin_code(req.code),
        peer: conn.peer.ip(),
        ext: req.ext_fields.as_ref().map(|e| e.0.as_slice()),
        body: &req.body,
        resources,
    };
    let fallback =
        |ak: &str, name: &str, group: bool, p: u8| kafka_grant(ctx, &host, ak, name, group, p);
    match acl.check(&request, &fallback) {
        Ok(_) => {
            SUCCESSES.inc();
            Ok(())
        }
        Err(r) => {
            let who = req
                .ext("AccessKey")
                .map_or_else(Principal::anonymous, Principal::user);
            match r.resource_type {
                None => {
                    FAILURES.inc();
                    crate::net::log_limit::warn(|suppressed| {
                        tracing::warn!(peer = %conn.peer, principal = %who, code = req.code, suppressed, "RocketMQ ACL authentication failed: {}", r.remark);
                    });
                }
                Some(kind) => {
                    count_denial(
                        "rocketmq",
                        kind,
                        &who,
                        &r.resource,
                        &format!("code {}", req.code),
                    );
                }
            }
            Err(refuse(r.remark))
        }
    }
}

#[cfg(test)]
mod tests {
    use rokka_protocols::remoting::header::ExtFields;

    use super::*;

    fn req(code: C, fields: &[(&str, &str)], body: &[u8]) -> RemotingCommand {
        let ext = ExtFields(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        let mut r = RemotingCommand::request(code.0, ext);
        r.body = bytes::Bytes::copy_from_slice(body);
        r
    }

    #[test]
    fn request_codes_map_to_upstreams_resources() {
        let send = req(C::SEND_MESSAGE_V2, &[("a", "pg"), ("b", "orders")], b"");
        assert_eq!(needed(&send).unwrap(), vec![("orders".into(), perm::PUB)]);
        let retry = req(
            C::SEND_MESSAGE,
            &[("group", "cg"), ("topic", "%RETRY%cg")],
            b"",
        );
        assert_eq!(
            needed(&retry).unwrap(),
            vec![("%RETRY%cg".into(), perm::SUB)]
        );
        let pull = req(
            C::PULL_MESSAGE,
            &[("consumerGroup", "cg"), ("topic", "orders")],
            b"",
        );
        assert_eq!(
            needed(&pull).unwrap(),
            vec![
                ("orders".into(), perm::SUB),
                ("%RETRY%cg".into(), perm::SUB)
            ]
        );
        let hb = br#"{"clientID":"c","consumerDataSet":[{"groupName":"cg","subscriptionDataSet":[{"topic":"orders","subString":"*"}]}],"producerDataSet":[]}"#;
        assert_eq!(
            needed(&req(C::HEART_BEAT, &[], hb)).unwrap(),
            vec![
                ("%RETRY%cg".into(), perm::SUB),
                ("orders".into(), perm::SUB)
            ]
        );
        assert!(needed(&req(C::HEART_BEAT, &[], b"{nope")).is_err());
        assert!(needed(&req(C::GET_ALL_TOPIC_CONFIG, &[], b""))
            .unwrap()
            .is_empty());
        assert!(admin_code(C::UPDATE_AND_CREATE_TOPIC.0) && admin_code(C::DELETE_ACL_CONFIG.0));
        assert!(!admin_code(C::SEND_MESSAGE.0));
    }
}
