//! RocketMQ ACL 1.0 (ADR 016 addendum): the accounts of a `plain_acl.yml`
//! file and the decision upstream's `PlainPermissionManager.validate` makes —
//! a globally white-listed address passes, else the request must name a known
//! `AccessKey`; the account's own white-listed address passes, else the
//! `Signature` (HMAC-SHA1, Base64, over the ext field values sorted by key,
//! then the body) must match; then every resource the request needs must be
//! allowed by the account's `topicPerms`/`groupPerms` or, for a resource it
//! does not name, by `defaultTopicPerm`/`defaultGroupPerm`. Groups are keyed
//! by their retry topic (`%RETRY%<group>`), as upstream keys them. The file is
//! re-read when it changes and rewritten by the admin requests (50, 51, 53).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use ring::hmac;
use serde::{Deserialize, Deserializer, Serialize};

use super::remote_addr::RemoteAddr;

mod edit;
#[cfg(test)]
mod tests;

/// Upstream's permission bits (`Permission.java`).
pub mod perm {
    /// Denied.
    pub const DENY: u8 = 1;
    /// PUB or SUB.
    pub const ANY: u8 = 1 << 1;
    /// Publish.
    pub const PUB: u8 = 1 << 2;
    /// Subscribe.
    pub const SUB: u8 = 1 << 3;

    /// `PUB`, `SUB`, `PUB|SUB`, `SUB|PUB`; anything else (and nothing) is DENY.
    pub fn parse(s: Option<&str>) -> u8 {
        match s.map(str::trim) {
            Some("PUB") => PUB,
            Some("SUB") => SUB,
            Some("PUB|SUB" | "SUB|PUB") => PUB | SUB,
            _ => DENY,
        }
    }

    /// Whether `owned` grants `needed` (`Permission.checkPermission`).
    pub fn check(needed: u8, owned: u8) -> bool {
        if owned & DENY != 0 {
            return false;
        }
        if needed & ANY != 0 {
            return owned & (PUB | SUB) != 0;
        }
        needed & owned != 0
    }
}

/// The retry-topic prefix groups are keyed by.
pub const RETRY_PREFIX: &str = "%RETRY%";
/// The message-trace topic: publishing to it skips the permission check.
pub const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// `%RETRY%<group>`.
pub fn group_key(group: &str) -> String {
    format!("{RETRY_PREFIX}{group}")
}

/// One account as the file (and GET_BROKER_CLUSTER_ACL_CONFIG) writes it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountConfig {
    /// The access key (the principal's name).
    #[serde(deserialize_with = "string")]
    pub access_key: String,
    /// The secret key.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string"
    )]
    pub secret_key: Option<String>,
    /// The account's white-listed addresses.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string"
    )]
    pub white_remote_address: Option<String>,
    /// Allowed the admin request codes.
    #[serde(default, deserialize_with = "boolish")]
    pub admin: bool,
    /// Permission on topics not in `topicPerms`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string"
    )]
    pub default_topic_perm: Option<String>,
    /// Permission on groups not in `groupPerms`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string"
    )]
    pub default_group_perm: Option<String>,
    /// `topic=PERM` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_perms: Option<Vec<String>>,
    /// `group=PERM` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_perms: Option<Vec<String>>,
}

impl std::fmt::Debug for AccountConfig {
    // The secret key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountConfig")
            .field("access_key", &self.access_key)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

/// `dataVersion` as upstream writes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataVersion {
    /// Changes so far.
    #[serde(default)]
    pub counter: i64,
    /// Last change, ms since the epoch.
    #[serde(default)]
    pub timestamp: i64,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AclFile {
    /// Addresses allowed everything without a signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_white_remote_addresses: Option<Vec<String>>,
    /// Accounts.
    #[serde(default)]
    pub accounts: Option<Vec<AccountConfig>>,
    /// Version of the file, bumped by every change made through the broker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_version: Option<Vec<DataVersion>>,
}

fn yaml_scalar(v: serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// YAML reads `secretKey: 12345678` as a number; upstream turns it into text.
fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<serde_yaml::Value>::deserialize(d)?.and_then(yaml_scalar))
}

fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_string(d)?.unwrap_or_default())
}

fn boolish<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(opt_string(d)?.is_some_and(|s| s.trim() == "true"))
}

/// An account ready for checks.
struct Account {
    key: hmac::Key,
    white: RemoteAddr,
    admin: bool,
    default_topic: u8,
    default_group: u8,
    /// Topics and `%RETRY%<group>` keys; `None` when the account names none.
    perms: Option<HashMap<String, u8>>,
}

fn parse_perms(into: &mut HashMap<String, u8>, list: &[String], group: bool) -> Result<(), String> {
    for entry in list {
        let parsed = entry
            .split_once('=')
            .filter(|(n, p)| !p.contains('=') && !n.trim().is_empty() && !p.trim().is_empty());
        let Some((name, p)) = parsed else {
            return Err(format!(
                "Parse resource permission failed for {}:{entry}",
                if group { "group" } else { "topic" }
            ));
        };
        let name = name.trim();
        let key = if group {
            group_key(name)
        } else {
            name.to_string()
        };
        into.insert(key, perm::parse(Some(p)));
    }
    Ok(())
}

impl Account {
    fn build(c: &AccountConfig) -> Result<Account, String> {
        let secret = c.secret_key.as_deref().unwrap_or_default();
        let mut perms = HashMap::new();
        parse_perms(
            &mut perms,
            c.group_perms.as_deref().unwrap_or_default(),
            true,
        )?;
        parse_perms(
            &mut perms,
            c.topic_perms.as_deref().unwrap_or_default(),
            false,
        )?;
        Ok(Account {
            key: hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes()),
            white: RemoteAddr::parse(c.white_remote_address.as_deref().unwrap_or_default())?,
            admin: c.admin,
            default_topic: perm::parse(c.default_topic_perm.as_deref()),
            default_group: perm::parse(c.default_group_perm.as_deref()),
            perms: (!perms.is_empty()).then_some(perms),
        })
    }
}

/// The file, parsed and checked.
#[derive(Default)]
struct Compiled {
    file: AclFile,
    global: Vec<RemoteAddr>,
    accounts: HashMap<String, Account>,
}

impl Compiled {
    /// Refuses the whole file on a bad entry (the previous one stays in force).
    fn build(file: AclFile) -> Result<Compiled, String> {
        let global = file
            .global_white_remote_addresses
            .iter()
            .flatten()
            .map(|p| RemoteAddr::parse(p))
            .collect::<Result<_, _>>()?;
        let mut accounts = HashMap::new();
        for c in file.accounts.iter().flatten() {
            accounts
                .entry(c.access_key.clone())
                .or_insert(Account::build(c)?);
        }
        Ok(Compiled {
            file,
            global,
            accounts,
        })
    }
}

/// Why a request was refused: the remark (upstream's text) and whether the
/// identity itself failed (authentication) or a permission (authorization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Upstream's remark text.
    pub remark: String,
    /// `Some(resource type)` for a permission refusal, `None` for identity.
    pub resource_type: Option<&'static str>,
    /// The resource refused (a topic or group name, or the request code).
    pub resource: String,
}

impl Refusal {
    fn identity(remark: String) -> Refusal {
        Refusal {
            remark,
            resource_type: None,
            resource: String::new(),
        }
    }
}

/// What a signed request asks for.
#[derive(Debug)]
pub struct AclRequest<'a> {
    /// Request code.
    pub code: i32,
    /// Whether the code needs an admin account.
    pub admin_code: bool,
    /// The client's address.
    pub peer: IpAddr,
    /// The ext fields (None when the request had none).
    pub ext: Option<&'a [(String, String)]>,
    /// The body.
    pub body: &'a [u8],
    /// Resources and the permission each needs (groups as `%RETRY%<group>`).
    pub resources: Vec<(String, u8)>,
}

impl AclRequest<'_> {
    fn field(&self, key: &str) -> Option<&str> {
        self.ext?
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// How a request got through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admitted {
    /// From a globally white-listed address (no identity).
    GlobalWhiteList,
    /// As this access key.
    Account(String),
}

/// Asked, for a resource the account's own lists do not name, whether the
/// shared authorizer decides for `User:<accessKey>`:
/// `(access key, resource, is_group, needed permission) -> Some(allowed)`.
pub type Fallback<'a> = &'a dyn Fn(&str, &str, bool, u8) -> Option<bool>;

/// The Base64 HMAC-SHA1 signature of a request, as `AclClientRPCHook`
/// computes it: ext field values in key order (without `Signature` and
/// `_UNIQUE_KEY_QUERY`), then the body.
pub fn sign(secret: &str, ext: &[(String, String)], body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
    let tag = content(&key, ext, body).sign();
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// Constant-time comparison of two tags.
fn same_tag(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Hex digits (either case) to bytes; `None` if any is not hex.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The signing context over a request's content.
fn content(key: &hmac::Key, ext: &[(String, String)], body: &[u8]) -> hmac::Context {
    // Later duplicates win, as when the JSON header is read into a map.
    let sorted: BTreeMap<&str, &str> = ext
        .iter()
        .filter(|(k, _)| k != "Signature" && k != "_UNIQUE_KEY_QUERY")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut ctx = hmac::Context::with_key(key);
    for v in sorted.values() {
        ctx.update(v.as_bytes());
    }
    ctx.update(body);
    ctx
}

/// Checks a file's state at most this often.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

type Stamp = Option<(SystemTime, u64)>;

/// The accounts of `plain_acl.yml`, re-read when the file changes.
pub struct PlainAcl {
    path: PathBuf,
    state: RwLock<Compiled>,
    /// When the file was last looked at, and its (mtime, size) then.
    watched: Mutex<(Instant, Stamp)>,
}

impl std::fmt::Debug for PlainAcl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainAcl")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

fn read(path: &Path) -> Result<AclFile, String> {
    match std::fs::read(path) {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(AclFile::default()),
        Ok(b) => serde_yaml::from_slice(&b).map_err(|e| e.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AclFile::default()),
        Err(e) => Err(e.to_string()),
    }
}

impl PlainAcl {
    /// Loads `path` (no accounts if it is missing or unreadable, with a warning).
    pub fn open(path: PathBuf) -> PlainAcl {
        let compiled = read(&path).and_then(Compiled::build).unwrap_or_else(|e| {
            tracing::warn!(path = %path.display(), error = %e, "ACL file refused: no account is valid until it is fixed");
            Compiled::default()
        });
        tracing::info!(path = %path.display(), accounts = compiled.accounts.len(), "RocketMQ ACL enabled");
        PlainAcl {
            watched: Mutex::new((Instant::now(), stamp(&path))),
            path,
            state: RwLock::new(compiled),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the file if it changed since the last look (at most once per second).
    pub fn reload_if_changed(&self) {
        let Ok(mut w) = self.watched.try_lock() else {
            return;
        };
        if w.0.elapsed() < RELOAD_EVERY {
            return;
        }
        w.0 = Instant::now();
        drop(w);
        self.reload_on_new_stamp();
    }

    /// Re-reads the file if its (mtime, size) differs from the last seen.
    fn reload_on_new_stamp(&self) {
        let mut w = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        let now = stamp(&self.path);
        if now == w.1 {
            return;
        }
        w.1 = now;
        drop(w);
        match read(&self.path).and_then(Compiled::build) {
            Ok(c) => {
                tracing::info!(path = %self.path.display(), accounts = c.accounts.len(), "ACL file reloaded");
                *self.state.write().unwrap_or_else(|e| e.into_inner()) = c;
            }
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "changed ACL file refused; the previous accounts stay in force");
            }
        }
    }

    /// Upstream's `validate`: whether the request may proceed, and as whom.
    pub fn check(&self, req: &AclRequest<'_>, fallback: Fallback<'_>) -> Result<Admitted, Refusal> {
        let given = req
            .field("Signature")
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok());
        let verify = |key: &hmac::Key| {
            let expected = content(key, req.ext.unwrap_or_default(), req.body).sign();
            given
                .as_deref()
                .is_some_and(|g| same_tag(g, expected.as_ref()))
        };
        self.validate(req, req.field("AccessKey"), &verify, fallback)
    }

    /// The same decision for a RocketMQ 5.x gRPC request: the identity is the
    /// `authorization` header's `Credential` and `Signature` (hex HMAC-SHA1
    /// of the signed `x-mq-date-time` value, either case); `req.ext` and
    /// `req.body` are not used.
    pub fn check_signed(
        &self,
        req: &AclRequest<'_>,
        ak: Option<&str>,
        signed: &[u8],
        signature_hex: &str,
        fallback: Fallback<'_>,
    ) -> Result<Admitted, Refusal> {
        let given = decode_hex(signature_hex);
        let verify = |key: &hmac::Key| {
            let expected = hmac::sign(key, signed);
            given
                .as_deref()
                .is_some_and(|g| same_tag(g, expected.as_ref()))
        };
        self.validate(req, ak, &verify, fallback)
    }

    fn validate(
        &self,
        req: &AclRequest<'_>,
        ak: Option<&str>,
        verify: &dyn Fn(&hmac::Key) -> bool,
        fallback: Fallback<'_>,
    ) -> Result<Admitted, Refusal> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        if state.global.iter().any(|w| w.matches(req.peer)) {
            return Ok(Admitted::GlobalWhiteList);
        }
        let Some(ak) = ak else {
            return Err(Refusal::identity("No accessKey is configured".into()));
        };
        let Some(account) = state.accounts.get(ak) else {
            return Err(Refusal::identity(format!("No acl config for {ak}")));
        };
        if account.white.matches(req.peer) {
            return Ok(Admitted::Account(ak.to_string()));
        }
        if !verify(&account.key) {
            return Err(Refusal::identity(format!(
                "Check signature failed for accessKey={ak}"
            )));
        }
        if req
            .resources
            .iter()
            .any(|(r, p)| r == TRACE_TOPIC && *p == perm::PUB)
        {
            return Ok(Admitted::Account(ak.to_string()));
        }
        if req.admin_code && !account.admin {
            return Err(Refusal {
                remark: format!(
                    "Need admin permission for request code={}, but accessKey={ak} is not",
                    req.code
                ),
                resource_type: Some("cluster"),
                resource: format!("code {}", req.code),
            });
        }
        if account.perms.is_none() && account.admin {
            return Ok(Admitted::Account(ak.to_string()));
        }
        for (resource, needed) in &req.resources {
            let group = resource.strip_prefix(RETRY_PREFIX);
            let owned = account.perms.as_ref().and_then(|m| m.get(resource));
            let ok = match owned {
                Some(owned) => perm::check(*needed, *owned),
                None => fallback(ak, group.unwrap_or(resource), group.is_some(), *needed)
                    .unwrap_or_else(|| {
                        let default = if group.is_some() {
                            account.default_group
                        } else {
                            account.default_topic
                        };
                        perm::check(*needed, default)
                    }),
            };
            if !ok {
                let (kind, name) = match group {
                    Some(g) => ("group", g),
                    None => ("topic", resource.as_str()),
                };
                return Err(Refusal {
                    remark: format!("No default permission for {kind}:{name}"),
                    resource_type: Some(kind),
                    resource: name.to_string(),
                });
            }
        }
        Ok(Admitted::Account(ak.to_string()))
    }
}
