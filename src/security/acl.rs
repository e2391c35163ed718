//! The authorizer shared by both front-ends (ADR 016): Kafka's ACL model
//! (resource type, literal or prefixed name, principal, host, operation,
//! allow/deny), decided as Kafka's `AclAuthorizer` does — a matching DENY
//! wins, then a matching ALLOW (Describe is implied by Read, Write, Delete
//! and Alter; DescribeConfigs by AlterConfigs), `super.users` are allowed
//! everything, and a resource no ACL names follows
//! `allow.everyone.if.no.acl.found`. Bindings persist in
//! `<data>/config/kafka_acls.json`.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use super::Principal;
use crate::config::security::AuthorizerConfig;

/// Kafka resource type codes.
pub mod resource {
    /// Any (filters only).
    pub const ANY: i8 = 1;
    /// Topic.
    pub const TOPIC: i8 = 2;
    /// Consumer group.
    pub const GROUP: i8 = 3;
    /// The cluster.
    pub const CLUSTER: i8 = 4;
    /// Transactional id.
    pub const TRANSACTIONAL_ID: i8 = 5;
}

/// Kafka pattern type codes.
pub mod pattern {
    /// Any (filters only).
    pub const ANY: i8 = 1;
    /// Match: literal, wildcard or prefix matching the name (filters only).
    pub const MATCH: i8 = 2;
    /// The exact name (`*` = every resource).
    pub const LITERAL: i8 = 3;
    /// Names starting with the pattern.
    pub const PREFIXED: i8 = 4;
}

/// Kafka operation codes.
#[allow(missing_docs)]
pub mod op {
    pub const ANY: i8 = 1;
    pub const ALL: i8 = 2;
    pub const READ: i8 = 3;
    pub const WRITE: i8 = 4;
    pub const CREATE: i8 = 5;
    pub const DELETE: i8 = 6;
    pub const ALTER: i8 = 7;
    pub const DESCRIBE: i8 = 8;
    pub const CLUSTER_ACTION: i8 = 9;
    pub const DESCRIBE_CONFIGS: i8 = 10;
    pub const ALTER_CONFIGS: i8 = 11;
    pub const IDEMPOTENT_WRITE: i8 = 12;
}

/// Kafka permission type codes.
pub mod permission {
    /// Any (filters only).
    pub const ANY: i8 = 1;
    /// Deny.
    pub const DENY: i8 = 2;
    /// Allow.
    pub const ALLOW: i8 = 3;
}

/// One ACL binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclBinding {
    /// Resource type code.
    pub resource_type: i8,
    /// Resource name (or prefix).
    pub resource_name: String,
    /// LITERAL or PREFIXED.
    pub pattern_type: i8,
    /// `User:name` or `User:*`.
    pub principal: String,
    /// Client address or `*`.
    pub host: String,
    /// Operation code.
    pub operation: i8,
    /// ALLOW or DENY.
    pub permission_type: i8,
}

/// A DescribeAcls / DeleteAcls filter (`None` = any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclFilter {
    /// Resource type (ANY matches all).
    pub resource_type: i8,
    /// Name, or any.
    pub resource_name: Option<String>,
    /// Pattern type (ANY, MATCH, LITERAL, PREFIXED).
    pub pattern_type: i8,
    /// Principal, or any.
    pub principal: Option<String>,
    /// Host, or any.
    pub host: Option<String>,
    /// Operation (ANY matches all).
    pub operation: i8,
    /// Permission (ANY matches all).
    pub permission_type: i8,
}

impl AclFilter {
    /// Whether `b` is selected by this filter.
    pub fn matches(&self, b: &AclBinding) -> bool {
        let name_ok = match (&self.resource_name, self.pattern_type) {
            (None, _) => true,
            (Some(n), pattern::MATCH) => {
                (b.pattern_type == pattern::LITERAL
                    && (b.resource_name == *n || b.resource_name == "*"))
                    || (b.pattern_type == pattern::PREFIXED && n.starts_with(&b.resource_name))
            }
            (Some(n), _) => b.resource_name == *n,
        };
        let pattern_ok = matches!(self.pattern_type, pattern::ANY | pattern::MATCH)
            || self.pattern_type == b.pattern_type;
        (self.resource_type == resource::ANY || self.resource_type == b.resource_type)
            && name_ok
            && pattern_ok
            && self.principal.as_ref().is_none_or(|p| *p == b.principal)
            && self.host.as_ref().is_none_or(|h| *h == b.host)
            && (self.operation == op::ANY || self.operation == b.operation)
            && (self.permission_type == permission::ANY
                || self.permission_type == b.permission_type)
    }
}

/// The authorizer and its persisted bindings.
#[derive(Debug)]
pub struct Authorizer {
    config: AuthorizerConfig,
    path: Option<PathBuf>,
    acls: RwLock<Vec<AclBinding>>,
}

fn resource_matches(b: &AclBinding, resource_type: i8, name: &str) -> bool {
    b.resource_type == resource_type
        && match b.pattern_type {
            pattern::LITERAL => b.resource_name == name || b.resource_name == "*",
            pattern::PREFIXED => name.starts_with(&b.resource_name),
            _ => false,
        }
}

/// Operations whose ALLOW also allows `operation`.
fn implied_by(operation: i8) -> &'static [i8] {
    match operation {
        op::DESCRIBE => &[op::DESCRIBE, op::READ, op::WRITE, op::DELETE, op::ALTER],
        op::DESCRIBE_CONFIGS => &[op::DESCRIBE_CONFIGS, op::ALTER_CONFIGS],
        _ => &[],
    }
}

/// Whether the binding names `principal` (or everyone) and `host` (or any).
fn about(b: &AclBinding, principal: &Principal, host: &str) -> bool {
    (b.principal == principal.0 || b.principal == "User:*") && (b.host == "*" || b.host == host)
}

/// DENY wins, then ALLOW; `None` when no binding is about `operation`.
fn decide(mine: &[&AclBinding], operation: i8) -> Option<bool> {
    let denied = mine.iter().any(|b| {
        b.permission_type == permission::DENY
            && (b.operation == operation || b.operation == op::ALL)
    });
    if denied {
        return Some(false);
    }
    let allowing = implied_by(operation);
    let allowed = mine.iter().any(|b| {
        b.permission_type == permission::ALLOW
            && (b.operation == op::ALL
                || b.operation == operation
                || allowing.contains(&b.operation))
    });
    allowed.then_some(true)
}

impl Authorizer {
    /// Loads `<dir>/kafka_acls.json` (none if missing).
    pub fn open(config: AuthorizerConfig, dir: &Path) -> Authorizer {
        let path = dir.join("kafka_acls.json");
        let acls = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Authorizer {
            config,
            path: Some(path),
            acls: RwLock::new(acls),
        }
    }

    /// An in-memory authorizer (tests).
    pub fn in_memory(config: AuthorizerConfig) -> Authorizer {
        Authorizer {
            config,
            path: None,
            acls: RwLock::default(),
        }
    }

    /// Whether `authorizer.class.name` turned authorization on.
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// Whether `principal` from `host` may do `operation` on the resource.
    pub fn authorize(
        &self,
        principal: &Principal,
        host: &str,
        operation: i8,
        resource_type: i8,
        name: &str,
    ) -> bool {
        if !self.config.enabled || self.config.super_users.contains(&principal.0) {
            return true;
        }
        let acls = self.acls.read().unwrap_or_else(|e| e.into_inner());
        let mut on_resource = acls
            .iter()
            .filter(|b| resource_matches(b, resource_type, name))
            .peekable();
        if on_resource.peek().is_none() {
            return self.config.allow_if_no_acl;
        }
        let mine: Vec<&AclBinding> = on_resource.filter(|b| about(b, principal, host)).collect();
        decide(&mine, operation).unwrap_or(false)
    }

    /// What the bindings naming `principal` (or `User:*`) decide, without
    /// `allow.everyone.if.no.acl.found`: `None` when none applies or the
    /// authorizer is off. RocketMQ ACL asks this for resources an account's
    /// own lists do not name (ADR 016, one identity model).
    pub fn explicit(
        &self,
        principal: &Principal,
        host: &str,
        operation: i8,
        resource_type: i8,
        name: &str,
    ) -> Option<bool> {
        if !self.config.enabled {
            return None;
        }
        if self.config.super_users.contains(&principal.0) {
            return Some(true);
        }
        let acls = self.acls.read().unwrap_or_else(|e| e.into_inner());
        let mine: Vec<&AclBinding> = acls
            .iter()
            .filter(|b| resource_matches(b, resource_type, name) && about(b, principal, host))
            .collect();
        decide(&mine, operation)
    }

    /// Kafka's `authorizeByResourceType`: whether some resource of the type
    /// allows `operation` to `principal` (an ALLOW binding not cancelled by a
    /// DENY on every name), or `allow.everyone.if.no.acl.found` with no
    /// binding of the type at all.
    pub fn may_on_some(
        &self,
        principal: &Principal,
        host: &str,
        operation: i8,
        resource_type: i8,
    ) -> bool {
        if !self.config.enabled || self.config.super_users.contains(&principal.0) {
            return true;
        }
        let acls = self.acls.read().unwrap_or_else(|e| e.into_inner());
        let of_type: Vec<&AclBinding> = acls
            .iter()
            .filter(|b| b.resource_type == resource_type)
            .collect();
        if of_type.is_empty() {
            return self.config.allow_if_no_acl;
        }
        let mine = |b: &&&AclBinding| {
            about(b, principal, host) && (b.operation == operation || b.operation == op::ALL)
        };
        let deny_all = of_type.iter().filter(mine).any(|b| {
            b.permission_type == permission::DENY
                && b.pattern_type == pattern::LITERAL
                && b.resource_name == "*"
        });
        !deny_all
            && of_type
                .iter()
                .filter(mine)
                .any(|b| b.permission_type == permission::ALLOW)
    }

    /// Bindings selected by `filter`.
    pub fn describe(&self, filter: &AclFilter) -> Vec<AclBinding> {
        let acls = self.acls.read().unwrap_or_else(|e| e.into_inner());
        acls.iter().filter(|b| filter.matches(b)).cloned().collect()
    }

    /// Adds bindings (duplicates are kept once) and persists.
    pub fn create(&self, new: Vec<AclBinding>) -> std::io::Result<()> {
        let mut acls = self.acls.write().unwrap_or_else(|e| e.into_inner());
        for b in new {
            if !acls.contains(&b) {
                acls.push(b);
            }
        }
        self.persist(&acls)
    }

    /// Removes the bindings each filter selects; returns them per filter.
    pub fn delete(&self, filters: &[AclFilter]) -> std::io::Result<Vec<Vec<AclBinding>>> {
        let mut acls = self.acls.write().unwrap_or_else(|e| e.into_inner());
        let out = filters
            .iter()
            .map(|f| acls.iter().filter(|b| f.matches(b)).cloned().collect())
            .collect();
        acls.retain(|b| !filters.iter().any(|f| f.matches(b)));
        self.persist(&acls)?;
        Ok(out)
    }

    fn persist(&self, acls: &[AclBinding]) -> std::io::Result<()> {
        match &self.path {
            Some(p) => {
                let json = serde_json::to_vec_pretty(acls).map_err(std::io::Error::other)?;
                super::write_atomically(p, &json)
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(rt: i8, name: &str, pat: i8, who: &str, operation: i8, perm: i8) -> AclBinding {
        AclBinding {
            resource_type: rt,
            resource_name: name.into(),
            pattern_type: pat,
            principal: who.into(),
            host: "*".into(),
            operation,
            permission_type: perm,
        }
    }

    fn on(allow_if_no_acl: bool) -> Authorizer {
        Authorizer::in_memory(AuthorizerConfig {
            enabled: true,
            super_users: vec!["User:admin".into()],
            allow_if_no_acl,
        })
    }

    #[test]
    fn deny_wins_allow_implies_describe_prefixes_match() {
        let a = on(false);
        let alice = Principal::user("alice");
        a.create(vec![
            binding(
                resource::TOPIC,
                "orders-",
                pattern::PREFIXED,
                "User:alice",
                op::WRITE,
                permission::ALLOW,
            ),
            binding(
                resource::TOPIC,
                "orders-secret",
                pattern::LITERAL,
                "User:alice",
                op::ALL,
                permission::DENY,
            ),
            binding(
                resource::GROUP,
                "*",
                pattern::LITERAL,
                "User:*",
                op::READ,
                permission::ALLOW,
            ),
        ])
        .unwrap();
        assert!(a.authorize(&alice, "h", op::WRITE, resource::TOPIC, "orders-eu"));
        assert!(a.authorize(&alice, "h", op::DESCRIBE, resource::TOPIC, "orders-eu"));
        assert!(!a.authorize(&alice, "h", op::READ, resource::TOPIC, "orders-eu"));
        assert!(!a.authorize(&alice, "h", op::WRITE, resource::TOPIC, "orders-secret"));
        assert!(!a.authorize(&alice, "h", op::WRITE, resource::TOPIC, "payments"));
        assert!(a.authorize(
            &Principal::user("bob"),
            "h",
            op::READ,
            resource::GROUP,
            "g1"
        ));
        assert!(a.authorize(
            &Principal::user("admin"),
            "h",
            op::DELETE,
            resource::CLUSTER,
            "kafka-cluster"
        ));
    }

    #[test]
    fn explicit_and_by_type_decisions() {
        let a = on(true);
        let alice = Principal::user("alice");
        a.create(vec![
            binding(
                resource::TOPIC,
                "orders",
                pattern::LITERAL,
                "User:alice",
                op::WRITE,
                permission::ALLOW,
            ),
            binding(
                resource::TOPIC,
                "secret",
                pattern::LITERAL,
                "User:alice",
                op::ALL,
                permission::DENY,
            ),
        ])
        .unwrap();
        assert_eq!(
            a.explicit(&alice, "h", op::WRITE, resource::TOPIC, "orders"),
            Some(true)
        );
        assert_eq!(
            a.explicit(&alice, "h", op::READ, resource::TOPIC, "secret"),
            Some(false)
        );
        // No binding about it: undecided, whatever allow.everyone.if.no.acl.found says.
        assert_eq!(
            a.explicit(&alice, "h", op::READ, resource::TOPIC, "other"),
            None
        );
        assert_eq!(
            a.explicit(
                &Principal::user("admin"),
                "h",
                op::READ,
                resource::TOPIC,
                "x"
            ),
            Some(true)
        );
        assert!(a.may_on_some(&alice, "h", op::WRITE, resource::TOPIC));
        assert!(!a.may_on_some(&Principal::user("bob"), "h", op::WRITE, resource::TOPIC));
        // No binding of the type at all: allow.everyone.if.no.acl.found.
        assert!(a.may_on_some(&Principal::user("bob"), "h", op::READ, resource::GROUP));
    }

    #[test]
    fn no_acl_follows_allow_everyone() {
        assert!(!on(false).authorize(&Principal::anonymous(), "h", op::READ, resource::TOPIC, "t"));
        assert!(on(true).authorize(&Principal::anonymous(), "h", op::READ, resource::TOPIC, "t"));
    }

    #[test]
    fn filters_select_and_delete() {
        let a = on(false);
        a.create(vec![
            binding(
                resource::TOPIC,
                "t",
                pattern::LITERAL,
                "User:a",
                op::READ,
                permission::ALLOW,
            ),
            binding(
                resource::TOPIC,
                "t",
                pattern::PREFIXED,
                "User:b",
                op::READ,
                permission::ALLOW,
            ),
        ])
        .unwrap();
        let any = AclFilter {
            resource_type: resource::ANY,
            resource_name: None,
            pattern_type: pattern::ANY,
            principal: None,
            host: None,
            operation: op::ANY,
            permission_type: permission::ANY,
        };
        assert_eq!(a.describe(&any).len(), 2);
        let b_only = AclFilter {
            principal: Some("User:b".into()),
            ..any.clone()
        };
        assert_eq!(a.delete(&[b_only]).unwrap()[0].len(), 1);
        assert_eq!(a.describe(&any).len(), 1);
    }
}
