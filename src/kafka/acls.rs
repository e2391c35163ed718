//! The Kafka side of the authorizer (ADR 016): [`allowed`] is the one check
//! handlers call (with the connection's principal and address); a denial is
//! counted in `rokka_authorization_denials_total{protocol="kafka",
//! resource_type}` and logged (rate-limited). With `authorizer.class.name`
//! unset everything is allowed and nothing is counted.

use super::request::Request;
use super::KafkaContext;
use crate::security::acl::{op, resource};
use crate::security::count_denial;

/// The cluster resource's name, as Kafka names it.
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// Kafka's name of a resource type (metric label and log field).
pub fn resource_label(t: i8) -> &'static str {
    match t {
        resource::TOPIC => "topic",
        resource::GROUP => "group",
        resource::CLUSTER => "cluster",
        resource::TRANSACTIONAL_ID => "transactional_id",
        _ => "unknown",
    }
}

fn op_label(o: i8) -> &'static str {
    match o {
        op::READ => "Read",
        op::WRITE => "Write",
        op::CREATE => "Create",
        op::DELETE => "Delete",
        op::ALTER => "Alter",
        op::DESCRIBE => "Describe",
        op::CLUSTER_ACTION => "ClusterAction",
        op::DESCRIBE_CONFIGS => "DescribeConfigs",
        op::ALTER_CONFIGS => "AlterConfigs",
        op::IDEMPOTENT_WRITE => "IdempotentWrite",
        _ => "Other",
    }
}

/// Whether the request's principal may do `operation` on the resource.
pub fn allowed(
    ctx: &KafkaContext,
    req: &Request<'_>,
    operation: i8,
    resource_type: i8,
    name: &str,
) -> bool {
    let authorizer = &ctx.broker.security.acl;
    if !authorizer.enabled() {
        return true;
    }
    let host = req.conn.peer.ip().to_string();
    let principal = &req.conn.principal;
    let ok = authorizer.authorize(principal, &host, operation, resource_type, name);
    if !ok {
        count_denial(
            "kafka",
            resource_label(resource_type),
            principal,
            name,
            op_label(operation),
        );
    }
    ok
}

/// [`allowed`] on the cluster resource.
pub fn allowed_cluster(ctx: &KafkaContext, req: &Request<'_>, operation: i8) -> bool {
    allowed(ctx, req, operation, resource::CLUSTER, CLUSTER_NAME)
}

/// Whether the topic may be described, without counting a denial
/// (Metadata silently leaves such topics out, as Kafka does).
pub fn may_describe_topic(ctx: &KafkaContext, req: &Request<'_>, topic: &str) -> bool {
    let authorizer = &ctx.broker.security.acl;
    !authorizer.enabled()
        || authorizer.authorize(
            &req.conn.principal,
            &req.conn.peer.ip().to_string(),
            op::DESCRIBE,
            resource::TOPIC,
            topic,
        )
}

/// TOPIC_AUTHORIZATION_FAILED (29) if `operation` on the topic is denied.
pub fn topic_refusal(
    ctx: &KafkaContext,
    req: &Request<'_>,
    operation: i8,
    topic: &str,
) -> Option<i16> {
    (!allowed(ctx, req, operation, resource::TOPIC, topic))
        .then_some(rokka_protocols::kafka::error_code::TOPIC_AUTHORIZATION_FAILED)
}

/// GROUP_AUTHORIZATION_FAILED (30) if `operation` on the group is denied.
pub fn group_refusal(
    ctx: &KafkaContext,
    req: &Request<'_>,
    operation: i8,
    group: &str,
) -> Option<i16> {
    (!allowed(ctx, req, operation, resource::GROUP, group))
        .then_some(rokka_protocols::kafka::error_code::GROUP_AUTHORIZATION_FAILED)
}

/// TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53) if `operation` on the
/// transactional id is denied.
pub fn txn_refusal(ctx: &KafkaContext, req: &Request<'_>, operation: i8, id: &str) -> Option<i16> {
    (!allowed(ctx, req, operation, resource::TRANSACTIONAL_ID, id))
        .then_some(rokka_protocols::kafka::error_code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
}

/// CLUSTER_AUTHORIZATION_FAILED (31) if `operation` on the cluster is denied.
pub fn cluster_refusal(ctx: &KafkaContext, req: &Request<'_>, operation: i8) -> Option<i16> {
    (!allowed_cluster(ctx, req, operation))
        .then_some(rokka_protocols::kafka::error_code::CLUSTER_AUTHORIZATION_FAILED)
}

/// InitProducerId without a transactional id: IdempotentWrite on the
/// cluster (checked without counting a denial) or Write on any topic, as
/// Kafka 3.x allows; else CLUSTER_AUTHORIZATION_FAILED (31).
pub fn idempotent_refusal(ctx: &KafkaContext, req: &Request<'_>) -> Option<i16> {
    let authorizer = &ctx.broker.security.acl;
    if !authorizer.enabled() {
        return None;
    }
    let host = req.conn.peer.ip().to_string();
    let p = &req.conn.principal;
    let ok = authorizer.authorize(
        p,
        &host,
        op::IDEMPOTENT_WRITE,
        resource::CLUSTER,
        CLUSTER_NAME,
    ) || authorizer.may_on_some(p, &host, op::WRITE, resource::TOPIC);
    if ok {
        return None;
    }
    count_denial("kafka", "cluster", p, CLUSTER_NAME, "IdempotentWrite");
    Some(rokka_protocols::kafka::error_code::CLUSTER_AUTHORIZATION_FAILED)
}

/// Describe/AlterConfigs: `operation` on the topic (29) or, for a broker
/// resource (type 4), on the cluster (31); with Kafka's default message.
pub fn config_refusal(
    ctx: &KafkaContext,
    req: &Request<'_>,
    operation: i8,
    resource_type: i8,
    name: &str,
) -> Option<(i16, String)> {
    use rokka_protocols::kafka::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
    match resource_type {
        RESOURCE_TOPIC => topic_refusal(ctx, req, operation, name)
            .map(|c| (c, "Topic authorization failed.".to_string())),
        RESOURCE_BROKER => cluster_refusal(ctx, req, operation)
            .map(|c| (c, "Cluster authorization failed.".to_string())),
        _ => None,
    }
}

/// CreateTopics' rule: Create on the cluster (checked without counting a
/// denial, as Kafka does) or else Create on the topic.
pub fn may_create_topic(ctx: &KafkaContext, req: &Request<'_>, topic: &str) -> bool {
    let authorizer = &ctx.broker.security.acl;
    !authorizer.enabled()
        || authorizer.authorize(
            &req.conn.principal,
            &req.conn.peer.ip().to_string(),
            op::CREATE,
            resource::CLUSTER,
            CLUSTER_NAME,
        )
        || allowed(ctx, req, op::CREATE, resource::TOPIC, topic)
}

/// Removes from `items` those whose topic `operation` is denied on and
/// returns them (the caller answers them TOPIC_AUTHORIZATION_FAILED).
/// With the authorizer off nothing is touched.
pub fn split_denied<T>(
    ctx: &KafkaContext,
    req: &Request<'_>,
    operation: i8,
    items: &mut Vec<T>,
    topic: impl Fn(&T) -> &str,
) -> Vec<T> {
    if !ctx.broker.security.acl.enabled() {
        return Vec::new();
    }
    let (ok, denied) = std::mem::take(items)
        .into_iter()
        .partition(|t| allowed(ctx, req, operation, resource::TOPIC, topic(t)));
    *items = ok;
    denied
}
