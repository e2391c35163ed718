//! CreateAcls (30), DescribeAcls (29) and DeleteAcls (31), as Kafka's
//! `KafkaApis`/`AclControlManager` answer them (ADR 016): with no
//! authorizer configured every answer is SECURITY_DISABLED (54); Describe
//! needs Describe on the cluster, Create and Delete need Alter on it
//! (else CLUSTER_AUTHORIZATION_FAILED 31); a binding with an `ANY`/unknown
//! code, an empty name, a malformed principal or a cluster name other than
//! `kafka-cluster` is refused with INVALID_REQUEST (42). Bindings go
//! through the authorizer core and persist in `config/kafka_acls.json`.

use rokka_protocols::kafka::acls::{self as wire, DeleteResult, DescribeResponse};
use rokka_protocols::kafka::error_code::{
    CLUSTER_AUTHORIZATION_FAILED, INVALID_REQUEST, SECURITY_DISABLED,
};
use rokka_protocols::kafka::Writer;

use super::acls::{allowed_cluster, CLUSTER_NAME};
use super::request::{CloseReason, Request};
use super::KafkaContext;
use crate::security::acl::{op, pattern, permission, resource, AclBinding, AclFilter};

const NO_AUTHORIZER: &str = "No Authorizer is configured on the broker";
const UNKNOWN_SERVER_ERROR: i16 = -1;

fn to_core(b: wire::AclBinding) -> AclBinding {
    AclBinding {
        resource_type: b.resource_type,
        resource_name: b.resource_name,
        pattern_type: b.pattern_type,
        principal: b.principal,
        host: b.host,
        operation: b.operation,
        permission_type: b.permission_type,
    }
}

fn to_wire(b: AclBinding) -> wire::AclBinding {
    wire::AclBinding {
        resource_type: b.resource_type,
        resource_name: b.resource_name,
        pattern_type: b.pattern_type,
        principal: b.principal,
        host: b.host,
        operation: b.operation,
        permission_type: b.permission_type,
    }
}

fn filter_to_core(f: wire::AclFilter) -> AclFilter {
    AclFilter {
        resource_type: f.resource_type,
        resource_name: f.resource_name,
        pattern_type: f.pattern_type,
        principal: f.principal,
        host: f.host,
        operation: f.operation,
        permission_type: f.permission_type,
    }
}

/// Why a new binding is refused, if it is.
fn invalid_binding(b: &wire::AclBinding) -> Option<String> {
    if !(resource::TOPIC..=resource::TRANSACTIONAL_ID).contains(&b.resource_type) {
        return Some(format!("Invalid resource type {}", b.resource_type));
    }
    if b.pattern_type != pattern::LITERAL && b.pattern_type != pattern::PREFIXED {
        return Some(format!("Invalid pattern type {}", b.pattern_type));
    }
    if !(op::ALL..=op::IDEMPOTENT_WRITE).contains(&b.operation) {
        return Some(format!("Invalid operation {}", b.operation));
    }
    if b.permission_type != permission::ALLOW && b.permission_type != permission::DENY {
        return Some(format!("Invalid permission type {}", b.permission_type));
    }
    if b.resource_name.is_empty() {
        return Some("Resource name should not be empty".into());
    }
    if b.resource_type == resource::CLUSTER && b.resource_name != CLUSTER_NAME {
        return Some("The only valid name for the CLUSTER resource is kafka-cluster".into());
    }
    match b.principal.split_once(':') {
        Some((kind, name)) if !kind.is_empty() && !name.is_empty() => None,
        _ => Some(format!("Could not parse principal {}", b.principal)),
    }
}

/// Why a filter is refused (a code of 0 = UNKNOWN), if it is.
fn invalid_filter(f: &wire::AclFilter) -> Option<String> {
    let codes = [
        f.resource_type,
        f.pattern_type,
        f.operation,
        f.permission_type,
    ];
    codes
        .iter()
        .any(|c| *c <= 0)
        .then(|| "The filter contains an unknown type code".into())
}

/// Handles CreateAcls.
pub fn create(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let mut r = req.reader();
    let creations = wire::decode_create(&mut r, req.version()).map_err(|e| req.bad_body(e))?;
    let authorizer = &ctx.broker.security.acl;
    let all = |code: i16, msg: Option<&str>| -> Vec<(i16, Option<String>)> {
        creations
            .iter()
            .map(|_| (code, msg.map(str::to_string)))
            .collect()
    };
    let results = if !authorizer.enabled() {
        all(SECURITY_DISABLED, Some(NO_AUTHORIZER))
    } else if !allowed_cluster(ctx, req, op::ALTER) {
        all(CLUSTER_AUTHORIZATION_FAILED, None)
    } else {
        let mut results: Vec<(i16, Option<String>)> = Vec::with_capacity(creations.len());
        let mut valid = Vec::new();
        for b in creations {
            match invalid_binding(&b) {
                Some(why) => results.push((INVALID_REQUEST, Some(why))),
                None => {
                    results.push((0, None));
                    valid.push(to_core(b));
                }
            }
        }
        if let Err(e) = authorizer.create(valid) {
            tracing::warn!(error = %e, "persisting kafka ACLs failed");
            for r in results.iter_mut().filter(|r| r.0 == 0) {
                *r = (
                    UNKNOWN_SERVER_ERROR,
                    Some("could not persist the ACLs".into()),
                );
            }
        }
        results
    };
    let mut w = req.writer();
    wire::encode_create_response(&mut w, &results);
    Ok(w)
}

/// Handles DescribeAcls.
pub fn describe(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let mut r = req.reader();
    let filter = wire::decode_describe(&mut r, req.version()).map_err(|e| req.bad_body(e))?;
    let authorizer = &ctx.broker.security.acl;
    let fail = |code: i16, msg: Option<String>| DescribeResponse {
        error_code: code,
        error_message: msg,
        bindings: Vec::new(),
    };
    let resp = if !authorizer.enabled() {
        fail(SECURITY_DISABLED, Some(NO_AUTHORIZER.into()))
    } else if !allowed_cluster(ctx, req, op::DESCRIBE) {
        fail(CLUSTER_AUTHORIZATION_FAILED, None)
    } else if let Some(why) = invalid_filter(&filter) {
        fail(INVALID_REQUEST, Some(why))
    } else {
        DescribeResponse {
            error_code: 0,
            error_message: None,
            bindings: authorizer
                .describe(&filter_to_core(filter))
                .into_iter()
                .map(to_wire)
                .collect(),
        }
    };
    let mut w = req.writer();
    wire::encode_describe_response(&mut w, req.version(), &resp);
    Ok(w)
}

/// Handles DeleteAcls.
pub fn delete(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let mut r = req.reader();
    let filters = wire::decode_delete(&mut r, req.version()).map_err(|e| req.bad_body(e))?;
    let authorizer = &ctx.broker.security.acl;
    let fail = |code: i16, msg: Option<String>| DeleteResult {
        error_code: code,
        error_message: msg,
        matching: Vec::new(),
    };
    let results: Vec<DeleteResult> = if !authorizer.enabled() {
        let e = fail(SECURITY_DISABLED, Some(NO_AUTHORIZER.into()));
        filters.iter().map(|_| e.clone()).collect()
    } else if !allowed_cluster(ctx, req, op::ALTER) {
        let e = fail(CLUSTER_AUTHORIZATION_FAILED, None);
        filters.iter().map(|_| e.clone()).collect()
    } else {
        // Invalid filters answer INVALID_REQUEST; the others delete together.
        let invalid: Vec<Option<String>> = filters.iter().map(invalid_filter).collect();
        let valid: Vec<AclFilter> = filters
            .into_iter()
            .zip(&invalid)
            .filter(|(_, why)| why.is_none())
            .map(|(f, _)| filter_to_core(f))
            .collect();
        match authorizer.delete(&valid) {
            Ok(deleted) => {
                let mut deleted = deleted.into_iter();
                invalid
                    .into_iter()
                    .map(|why| match why {
                        Some(why) => fail(INVALID_REQUEST, Some(why)),
                        None => DeleteResult {
                            error_code: 0,
                            error_message: None,
                            matching: deleted
                                .next()
                                .unwrap_or_default()
                                .into_iter()
                                .map(to_wire)
                                .collect(),
                        },
                    })
                    .collect()
            }
            Err(e) => {
                tracing::warn!(error = %e, "persisting kafka ACLs failed");
                let e = fail(
                    UNKNOWN_SERVER_ERROR,
                    Some("could not persist the ACLs".into()),
                );
                invalid.iter().map(|_| e.clone()).collect()
            }
        }
    };
    let mut w = req.writer();
    wire::encode_delete_response(&mut w, req.version(), &results);
    Ok(w)
}
