//! Security state shared by both front-ends (ADR 016): who a connection is
//! ([`Principal`]: one identity whichever protocol it came from), the SCRAM
//! credentials (`scram.rs`, persisted in `<data>/config/scram_credentials.json`),
//! and the security metrics. No secret ever reaches a log line, a metric
//! label or an error message.

pub mod acl;
pub mod plain_acl;
pub mod remote_addr;
pub mod scram;
pub mod x509_name;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, RwLock};

use prometheus::{IntCounterVec, Opts, Registry};

use crate::config::security::SaslMechanism;
use scram::ScramCredential;

/// An authenticated identity: `User:<name>` as Kafka writes it. A Kafka SASL
/// user, a client certificate's name and a RocketMQ accessKey with the same
/// name are the same principal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Principal(pub String);

impl Principal {
    /// The unauthenticated principal (`User:ANONYMOUS`).
    pub fn anonymous() -> Principal {
        Principal::user("ANONYMOUS")
    }

    /// `User:<name>`.
    pub fn user(name: &str) -> Principal {
        Principal(format!("User:{name}"))
    }

    /// Kafka's default principal of an SSL connection: `User:` and the
    /// client certificate's subject in RFC 2253 form (`User:CN=alice,O=Example`);
    /// `None` if the certificate cannot be read.
    pub fn from_certificate(cert_der: &[u8]) -> Option<Principal> {
        x509_name::subject_name(cert_der).map(|dn| Principal(format!("User:{dn}")))
    }

    /// The name after `User:`.
    pub fn name(&self) -> &str {
        self.0.split_once(':').map_or(self.0.as_str(), |(_, n)| n)
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

static AUTHENTICATIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    IntCounterVec::new(
        Opts::new(
            "rokka_authentications_total",
            "Authentication attempts by listener, mechanism and result (success, failure).",
        ),
        &["listener", "mechanism", "result"],
    )
    .expect("static metric definition is valid")
});

static DENIALS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    IntCounterVec::new(
        Opts::new(
            "rokka_authorization_denials_total",
            "Requests refused by the authorizer, by protocol and resource type.",
        ),
        &["protocol", "resource_type"],
    )
    .expect("static metric definition is valid")
});

/// Counts an authentication attempt.
pub fn count_authentication(listener: &str, mechanism: &str, ok: bool) {
    AUTHENTICATIONS
        .with_label_values(&[listener, mechanism, if ok { "success" } else { "failure" }])
        .inc();
}

/// The `rokka_authentications_total` counter of one label set, to keep
/// where it is counted per request.
pub fn authentication_counter(listener: &str, mechanism: &str, ok: bool) -> prometheus::IntCounter {
    AUTHENTICATIONS.with_label_values(&[
        listener,
        mechanism,
        if ok { "success" } else { "failure" },
    ])
}

/// Counts and logs (rate-limited) an authorization denial.
pub fn count_denial(
    protocol: &str,
    resource_type: &str,
    principal: &Principal,
    resource: &str,
    operation: &str,
) {
    DENIALS.with_label_values(&[protocol, resource_type]).inc();
    crate::net::log_limit::warn(|suppressed| {
        tracing::warn!(
            protocol,
            %principal,
            resource_type,
            resource,
            operation,
            suppressed,
            "authorization denied"
        );
    });
}

/// The current value of `rokka_authentications_total` (tests).
pub fn authentications(listener: &str, mechanism: &str, ok: bool) -> u64 {
    AUTHENTICATIONS
        .with_label_values(&[listener, mechanism, if ok { "success" } else { "failure" }])
        .get()
}

/// Registers the security metrics with `registry`.
pub fn register(registry: &Registry) -> prometheus::Result<()> {
    registry.register(Box::new(AUTHENTICATIONS.clone()))?;
    registry.register(Box::new(DENIALS.clone()))?;
    crate::net::tls::register(registry)
}

/// Mechanism code in Describe/AlterUserScramCredentials.
pub fn mechanism_code(m: SaslMechanism) -> i8 {
    match m {
        SaslMechanism::ScramSha256 => 1,
        SaslMechanism::ScramSha512 => 2,
        SaslMechanism::Plain => 0,
    }
}

/// The SCRAM mechanism of a wire code.
pub fn mechanism_from_code(c: i8) -> Option<SaslMechanism> {
    match c {
        1 => Some(SaslMechanism::ScramSha256),
        2 => Some(SaslMechanism::ScramSha512),
        _ => None,
    }
}

type Credentials = BTreeMap<String, BTreeMap<String, ScramCredential>>;

/// SCRAM credentials per user and mechanism, persisted as JSON.
#[derive(Debug)]
pub struct ScramStore {
    path: Option<PathBuf>,
    users: RwLock<Credentials>,
}

impl ScramStore {
    /// Loads `<dir>/scram_credentials.json` (empty if missing or unreadable,
    /// with a warning for the latter).
    pub fn open(dir: &Path) -> ScramStore {
        let path = dir.join("scram_credentials.json");
        let users = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable SCRAM credentials file");
                Credentials::new()
            }),
            Err(_) => Credentials::new(),
        };
        ScramStore {
            path: Some(path),
            users: RwLock::new(users),
        }
    }

    /// An in-memory store (tests).
    pub fn in_memory() -> ScramStore {
        ScramStore {
            path: None,
            users: RwLock::default(),
        }
    }

    /// The credential of `user` for `m`.
    pub fn get(&self, user: &str, m: SaslMechanism) -> Option<ScramCredential> {
        let users = self.users.read().unwrap_or_else(|e| e.into_inner());
        users.get(user)?.get(m.name()).cloned()
    }

    /// Every user with their (mechanism, iterations).
    pub fn describe(&self) -> BTreeMap<String, Vec<(SaslMechanism, i32)>> {
        let users = self.users.read().unwrap_or_else(|e| e.into_inner());
        users
            .iter()
            .map(|(u, creds)| {
                let list = creds
                    .iter()
                    .filter_map(|(m, c)| SaslMechanism::parse(m).map(|m| (m, c.iterations)))
                    .collect();
                (u.clone(), list)
            })
            .collect()
    }

    /// Applies deletions and upsertions, then persists. Returns false for a
    /// deletion of a credential that does not exist (nothing else changes for it).
    pub fn alter(
        &self,
        delete: &[(String, SaslMechanism)],
        upsert: Vec<(String, SaslMechanism, ScramCredential)>,
    ) -> std::io::Result<Vec<bool>> {
        let mut users = self.users.write().unwrap_or_else(|e| e.into_inner());
        let mut found = Vec::new();
        for (u, m) in delete {
            let removed = users.get_mut(u).and_then(|c| c.remove(m.name())).is_some();
            if users.get(u).is_some_and(BTreeMap::is_empty) {
                users.remove(u);
            }
            found.push(removed);
        }
        for (u, m, c) in upsert {
            users.entry(u).or_default().insert(m.name().to_string(), c);
        }
        if let Some(path) = &self.path {
            let json = serde_json::to_vec_pretty(&*users).map_err(std::io::Error::other)?;
            write_atomically(path, &json)?;
        }
        Ok(found)
    }
}

/// Writes `data` to a temporary file and renames it over `path`.
pub fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Security state of the broker, shared by both front-ends.
#[derive(Debug)]
pub struct Security {
    /// SCRAM credentials.
    pub scram: ScramStore,
    /// The Kafka ACL authorizer (also consulted for RocketMQ grants).
    pub acl: acl::Authorizer,
    /// RocketMQ ACL 1.0 accounts (`aclEnable=true`), else None.
    pub plain_acl: Option<plain_acl::PlainAcl>,
}

impl Security {
    /// Opens the persisted state under the store's config directory.
    pub fn open(config: &crate::config::security::SecurityConfig, config_dir: &Path) -> Security {
        Security {
            scram: ScramStore::open(config_dir),
            acl: acl::Authorizer::open(config.authorizer.clone(), config_dir),
            plain_acl: config.rocketmq_acl.then(|| {
                plain_acl::PlainAcl::open(
                    config
                        .acl_file
                        .clone()
                        .unwrap_or_else(|| config_dir.join("plain_acl.yml")),
                )
            }),
        }
    }
}
