//! Security keys (ADR 016): Kafka listeners with their security protocols,
//! `ssl.*` (global or `listener.name.<l>.ssl.*`), SASL and authorizer keys,
//! RocketMQ `tls.server.*` and ACL keys, and the HTTP listener's
//! `rokka.http.tls.*`. Raw values are collected while the config file is
//! read and resolved once in [`finish`], because Kafka keys refer to each
//! other (a listener name in `listeners` decides which `listener.name.*`
//! keys apply).
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `listeners` | `NAME://[host]:port,...`; the first is the primary listener | `PLAINTEXT://:9092` |
//! | `advertised.listeners` | `NAME://host:port,...` told to clients of each listener | the bound address |
//! | `listener.security.protocol.map` | `NAME:PROTOCOL,...` (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) | each standard name maps to itself |
//! | `ssl.keystore.type` | only `PEM` | `PEM` |
//! | `ssl.keystore.location` | PEM file with the private key and the certificate chain | |
//! | `ssl.keystore.certificate.chain`, `ssl.keystore.key` | PEM text (or, rokka's extension, a file path) | |
//! | `ssl.client.auth` | `none`, `requested`, `required` | `none` |
//! | `ssl.truststore.type` | only `PEM` | `PEM` |
//! | `ssl.truststore.location`, `ssl.truststore.certificates` | CA certificates for client certificates (file / PEM text) | |
//! | `listener.name.<l>.<ssl key>` | the same, for listener `<l>` only (lower-case name) | |
//! | `sasl.enabled.mechanisms`, `listener.name.<l>.sasl.enabled.mechanisms` | PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 | all three |
//! | `listener.name.<l>.plain.sasl.jaas.config` (or `sasl.jaas.config`) | PLAIN users: `user_<name>="<password>"` | none |
//! | `connections.max.reauth.ms` | SASL session lifetime (KIP-368); 0 = unlimited | 0 |
//! | `authorizer.class.name` | any non-empty value turns the Kafka ACL authorizer on | off |
//! | `super.users` | `User:a;User:b`, allowed everything | none |
//! | `allow.everyone.if.no.acl.found` | allow when no ACL matches a resource | false |
//! | `aclEnable` | RocketMQ ACL 1.0 (signed requests, `plain_acl.yml`) | false |
//! | `rokka.aclFile` | where `plain_acl.yml` is | `<data>/config/plain_acl.yml` |
//! | `tls.server.mode` | RocketMQ listeners (broker, VIP, NameServer): `disabled`, `permissive`, `enforcing` | `permissive` with a certificate, else `disabled` |
//! | `tls.server.certPath`, `tls.server.keyPath` | PEM certificate chain and key | |
//! | `tls.server.need.client.auth` | `none`, `optional`, `require` | `none` |
//! | `tls.server.authClient` | `true` = client certificates are required and verified | false |
//! | `tls.server.trustCertPath` | CA certificates for client certificates | |
//! | `rokka.http.tls.certPath`, `rokka.http.tls.keyPath` | HTTPS on the HTTP port (TLS only) | plain HTTP |
//! | `rokka.http.tls.clientAuth`, `rokka.http.tls.trustCertPath` | client certificates on the HTTP port | `none` |

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::net::tls::{ClientAuth, Pem, TlsMode, TlsSettings};

use super::AdvertisedListener;

/// How a Kafka listener secures its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    /// Plain text, no authentication.
    Plaintext,
    /// TLS, principal from the client certificate (or ANONYMOUS).
    Ssl,
    /// SASL over plain text.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    fn parse(v: &str) -> Result<SecurityProtocol, String> {
        match v.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            "SSL" => Ok(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Ok(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Ok(SecurityProtocol::SaslSsl),
            other => Err(format!(
                "security protocol `{other}` is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"
            )),
        }
    }

    /// Whether the listener runs TLS.
    pub fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether the listener requires SASL authentication.
    pub fn sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// A SASL mechanism rokka serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SaslMechanism {
    /// RFC 4616.
    Plain,
    /// RFC 5802/7677 with SHA-256.
    ScramSha256,
    /// RFC 5802 with SHA-512.
    ScramSha512,
}

impl SaslMechanism {
    /// The IANA name clients send.
    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }

    /// The mechanism named `v` (exact, as Kafka compares).
    pub fn parse(v: &str) -> Option<SaslMechanism> {
        [
            SaslMechanism::Plain,
            SaslMechanism::ScramSha256,
            SaslMechanism::ScramSha512,
        ]
        .into_iter()
        .find(|m| m.name() == v)
    }
}

/// One Kafka listener, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaListener {
    /// Its name (`PLAINTEXT`, `SSL`, `CLIENT`, ...).
    pub name: String,
    /// How it secures connections.
    pub protocol: SecurityProtocol,
    /// Where it binds.
    pub addr: SocketAddr,
    /// What clients of this listener are told to connect to.
    pub advertised: Option<AdvertisedListener>,
    /// TLS settings (SSL and SASL_SSL listeners).
    pub tls: Option<TlsSettings>,
    /// SASL mechanisms enabled (SASL listeners).
    pub mechanisms: Vec<SaslMechanism>,
    /// PLAIN users and passwords from the JAAS config (never logged).
    pub plain_users: PlainUsers,
}

/// `user_<name>="<password>"` entries of a PLAIN JAAS config.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PlainUsers(pub BTreeMap<String, String>);

impl std::fmt::Debug for PlainUsers {
    // Names only: passwords never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// RocketMQ listeners' TLS (`tls.server.*`), shared by broker, VIP and NameServer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemotingTls {
    /// `tls.server.mode`.
    pub mode: TlsMode,
    /// Certificate, key and client auth.
    pub settings: Option<TlsSettings>,
}

/// Kafka authorizer settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthorizerConfig {
    /// `authorizer.class.name` is set.
    pub enabled: bool,
    /// `super.users` principals (`User:name`).
    pub super_users: Vec<String>,
    /// `allow.everyone.if.no.acl.found`.
    pub allow_if_no_acl: bool,
}

/// Everything security, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityConfig {
    /// Kafka listeners; the first binds `kafka_listen`.
    pub kafka_listeners: Vec<KafkaListener>,
    /// `connections.max.reauth.ms` (None = sessions never expire).
    pub reauth: Option<Duration>,
    /// The Kafka authorizer.
    pub authorizer: AuthorizerConfig,
    /// RocketMQ listeners' TLS.
    pub remoting_tls: RemotingTls,
    /// RocketMQ `aclEnable`.
    pub rocketmq_acl: bool,
    /// `rokka.aclFile` (None = `<data>/config/plain_acl.yml`).
    pub acl_file: Option<PathBuf>,
    /// HTTPS on the HTTP port.
    pub http_tls: Option<TlsSettings>,
}

/// Raw values while the file is read.
#[derive(Debug, Clone, Default)]
pub(super) struct SecurityDraft {
    /// `listeners` after the first: (name, host, port). The first's name only.
    first_name: Option<String>,
    more: Vec<(String, Option<IpAddr>, u16)>,
    advertised: Vec<(String, AdvertisedListener)>,
    protocol_map: BTreeMap<String, SecurityProtocol>,
    /// `ssl.*`, `sasl.*`, `listener.name.*` as written.
    raw: BTreeMap<String, String>,
    reauth_ms: u64,
    authorizer: AuthorizerConfig,
    remoting: BTreeMap<String, String>,
    rocketmq_acl: bool,
    acl_file: Option<PathBuf>,
    http: BTreeMap<String, String>,
}

const SSL_KEYS: &[&str] = &[
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.key.password",
    "ssl.client.auth",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.certificates",
    "ssl.endpoint.identification.algorithm",
    "ssl.enabled.protocols",
    "ssl.protocol",
];

const SASL_KEYS: &[&str] = &[
    "sasl.enabled.mechanisms",
    "sasl.jaas.config",
    "plain.sasl.jaas.config",
    "scram-sha-256.sasl.jaas.config",
    "scram-sha-512.sasl.jaas.config",
    "sasl.mechanism.inter.broker.protocol",
];

const REMOTING_KEYS: &[&str] = &[
    "tls.server.mode",
    "tls.server.certPath",
    "tls.server.keyPath",
    "tls.server.keyPassword",
    "tls.server.need.client.auth",
    "tls.server.authClient",
    "tls.server.trustCertPath",
];

const HTTP_KEYS: &[&str] = &[
    "rokka.http.tls.certPath",
    "rokka.http.tls.keyPath",
    "rokka.http.tls.clientAuth",
    "rokka.http.tls.trustCertPath",
];

/// Applies `key` if it is a security key: `None` when it is not one.
pub(super) fn apply(d: &mut SecurityDraft, key: &str, v: &str) -> Option<Result<(), String>> {
    let plain = |k: &str| SSL_KEYS.contains(&k) || SASL_KEYS.contains(&k);
    if plain(key) {
        d.raw.insert(key.to_string(), v.to_string());
        return Some(Ok(()));
    }
    if let Some(rest) = key.strip_prefix("listener.name.") {
        let known = rest.split_once('.').is_some_and(|(_, k)| plain(k));
        if !known {
            return None;
        }
        d.raw.insert(key.to_string(), v.to_string());
        return Some(Ok(()));
    }
    if REMOTING_KEYS.contains(&key) {
        d.remoting.insert(key.to_string(), v.to_string());
        return Some(Ok(()));
    }
    if HTTP_KEYS.contains(&key) {
        d.http.insert(key.to_string(), v.to_string());
        return Some(Ok(()));
    }
    Some(match key {
        "listener.security.protocol.map" => protocol_map(v).map(|m| d.protocol_map = m),
        "connections.max.reauth.ms" => v
            .trim()
            .parse::<u64>()
            .map(|ms| d.reauth_ms = ms)
            .map_err(|_| "expected milliseconds (0 = no limit)".to_string()),
        "authorizer.class.name" => {
            d.authorizer.enabled = !v.trim().is_empty();
            Ok(())
        }
        "super.users" => {
            d.authorizer.super_users = v
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            Ok(())
        }
        "allow.everyone.if.no.acl.found" => bool_value(v).map(|b| d.authorizer.allow_if_no_acl = b),
        "aclEnable" => bool_value(v).map(|b| d.rocketmq_acl = b),
        "rokka.aclFile" => {
            d.acl_file = Some(PathBuf::from(v.trim()));
            Ok(())
        }
        _ => return None,
    })
}

fn bool_value(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected true or false".to_string()),
    }
}

fn protocol_map(v: &str) -> Result<BTreeMap<String, SecurityProtocol>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (name, proto) = pair
                .split_once(':')
                .ok_or_else(|| format!("`{pair}` is not NAME:PROTOCOL"))?;
            Ok((name.trim().to_string(), SecurityProtocol::parse(proto)?))
        })
        .collect()
}

/// One `NAME://host:port` entry.
fn listener_url(item: &str) -> Result<(String, &str, u16), String> {
    let (name, rest) = item
        .split_once("://")
        .ok_or_else(|| format!("`{item}` is not NAME://host:port"))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!("`{name}` is not a listener name"));
    }
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("`{item}` is not NAME://host:port"))?;
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("`{port}` is not a port number between 0 and 65535"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Ok((name.to_string(), host, port))
}

fn bind_host(h: &str) -> Result<Option<IpAddr>, String> {
    match h {
        "" | "0.0.0.0" => Ok(if h.is_empty() {
            None
        } else {
            Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        }),
        "localhost" => Ok(Some(IpAddr::V4(Ipv4Addr::LOCALHOST))),
        h => h
            .parse()
            .map(Some)
            .map_err(|_| format!("host `{h}` must be an IP address, `localhost` or empty")),
    }
}

/// Kafka `listeners`: records every listener and returns the first one's
/// host and port (the primary listener, `kafka_listen`).
pub(super) fn listeners(d: &mut SecurityDraft, v: &str) -> Result<(Option<IpAddr>, u16), String> {
    let mut all = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, host, port) = listener_url(item)?;
        if all.iter().any(|(n, _, _): &(String, _, _)| *n == name) {
            return Err(format!("listener name `{name}` is given twice"));
        }
        all.push((name, bind_host(host)?, port));
    }
    let mut it = all.into_iter();
    let Some((first, host, port)) = it.next() else {
        return Err("expected at least one listener, NAME://host:port".to_string());
    };
    d.first_name = Some(first);
    d.more = it.collect();
    Ok((host, port))
}

/// Kafka `advertised.listeners`: returns the entry for the primary listener
/// (the first entry when the names are not known yet) and keeps the rest.
pub(super) fn advertised(d: &mut SecurityDraft, v: &str) -> Result<AdvertisedListener, String> {
    let mut out = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, host, port) = listener_url(item)?;
        if host.is_empty() {
            return Err("the advertised host must not be empty".to_string());
        }
        out.push((
            name,
            AdvertisedListener {
                host: host.to_string(),
                port,
            },
        ));
    }
    let first = out
        .first()
        .map(|(_, a)| a.clone())
        .ok_or_else(|| "expected NAME://host:port".to_string())?;
    d.advertised = out;
    Ok(first)
}

/// Resolves the collected keys. `primary` is the first listener's address;
/// `bind` the default host of the others; `primary_advertised` is replaced
/// by the entry named like the primary listener when there is one.
pub(super) fn finish(
    d: SecurityDraft,
    primary: SocketAddr,
    bind: IpAddr,
    primary_advertised: &mut Option<AdvertisedListener>,
) -> Result<SecurityConfig, String> {
    let first = d
        .first_name
        .clone()
        .unwrap_or_else(|| "PLAINTEXT".to_string());
    let mut named = vec![(first.clone(), primary)];
    for (name, host, port) in &d.more {
        named.push((name.clone(), SocketAddr::new(host.unwrap_or(bind), *port)));
    }
    if let Some(a) = d.advertised.iter().find(|(n, _)| *n == first) {
        *primary_advertised = Some(a.1.clone());
    }
    let mut kafka_listeners = Vec::new();
    for (name, addr) in named {
        let protocol = match d.protocol_map.get(&name) {
            Some(p) => *p,
            None if d.protocol_map.is_empty() => SecurityProtocol::parse(&name).map_err(|_| {
                format!("listener `{name}` has no entry in listener.security.protocol.map")
            })?,
            None => {
                return Err(format!(
                    "listener `{name}` has no entry in listener.security.protocol.map"
                ))
            }
        };
        if kafka_listeners
            .iter()
            .any(|l: &KafkaListener| l.addr.port() == addr.port() && addr.port() != 0)
        {
            return Err(format!("listener `{name}` reuses port {}", addr.port()));
        }
        let tls = if protocol.tls() {
            Some(kafka_tls(&d.raw, &name)?)
        } else {
            None
        };
        let (mechanisms, plain_users) = if protocol.sasl() {
            kafka_sasl(&d.raw, &name)?
        } else {
            (Vec::new(), PlainUsers::default())
        };
        let advertised = d
            .advertised
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| a.clone());
        kafka_listeners.push(KafkaListener {
            name,
            protocol,
            addr,
            advertised,
            tls,
            mechanisms,
            plain_users,
        });
    }
    Ok(SecurityConfig {
        kafka_listeners,
        reauth: (d.reauth_ms > 0).then(|| Duration::from_millis(d.reauth_ms)),
        authorizer: d.authorizer,
        remoting_tls: remoting_tls(&d.remoting)?,
        rocketmq_acl: d.rocketmq_acl,
        acl_file: d.acl_file,
        http_tls: http_tls(&d.http)?,
    })
}

/// `listener.name.<l>.<key>` over `<key>`.
fn listener_value<'a>(
    raw: &'a BTreeMap<String, String>,
    listener: &str,
    key: &str,
) -> Option<&'a str> {
    raw.get(&format!(
        "listener.name.{}.{key}",
        listener.to_ascii_lowercase()
    ))
    .or_else(|| raw.get(key))
    .map(String::as_str)
    .filter(|v| !v.trim().is_empty())
}

fn kafka_tls(raw: &BTreeMap<String, String>, listener: &str) -> Result<TlsSettings, String> {
    let get = |k: &str| listener_value(raw, listener, k);
    for k in ["ssl.keystore.type", "ssl.truststore.type"] {
        if let Some(t) = get(k) {
            if !t.trim().eq_ignore_ascii_case("PEM") {
                return Err(format!(
                    "{k}={t} for listener {listener}: only PEM is supported (convert with openssl/keytool)"
                ));
            }
        }
    }
    let (cert_chain, key) = match (
        get("ssl.keystore.certificate.chain"),
        get("ssl.keystore.key"),
        get("ssl.keystore.location"),
    ) {
        (Some(c), Some(k), _) => (Pem::from_value(c), Pem::from_value(k)),
        (None, None, Some(loc)) => (Pem::from_value(loc), Pem::from_value(loc)),
        _ => {
            return Err(format!(
                "listener {listener} uses TLS: set ssl.keystore.location (PEM with key and chain) \
                 or ssl.keystore.certificate.chain and ssl.keystore.key"
            ))
        }
    };
    let client_auth = match get("ssl.client.auth") {
        Some(v) => v.parse::<ClientAuth>()?,
        None => ClientAuth::None,
    };
    let trust = get("ssl.truststore.certificates")
        .or_else(|| get("ssl.truststore.location"))
        .map(Pem::from_value);
    if client_auth != ClientAuth::None && trust.is_none() {
        return Err(format!(
            "listener {listener}: ssl.client.auth needs ssl.truststore.location or ssl.truststore.certificates"
        ));
    }
    Ok(TlsSettings {
        cert_chain,
        key,
        client_auth,
        trust,
    })
}

fn kafka_sasl(
    raw: &BTreeMap<String, String>,
    listener: &str,
) -> Result<(Vec<SaslMechanism>, PlainUsers), String> {
    let mechanisms = match listener_value(raw, listener, "sasl.enabled.mechanisms") {
        None => vec![
            SaslMechanism::Plain,
            SaslMechanism::ScramSha256,
            SaslMechanism::ScramSha512,
        ],
        Some(v) => v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|m| {
                SaslMechanism::parse(m).ok_or_else(|| {
                    format!("SASL mechanism `{m}` is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)")
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let jaas = listener_value(raw, listener, "plain.sasl.jaas.config")
        .or_else(|| listener_value(raw, listener, "sasl.jaas.config"));
    let users = match jaas {
        Some(j) => plain_users(j),
        None => PlainUsers::default(),
    };
    Ok((mechanisms, users))
}

/// The `user_<name>="<password>"` options of a JAAS line such as
/// `org.apache.kafka.common.security.plain.PlainLoginModule required
/// username="admin" password="a" user_admin="a" user_alice="b";`.
pub fn plain_users(jaas: &str) -> PlainUsers {
    let mut users = BTreeMap::new();
    let mut rest = jaas;
    while let Some(i) = rest.find("user_") {
        let after = &rest[i + 5..];
        let Some(eq) = after.find('=') else { break };
        let name = after[..eq].trim();
        let value = after[eq + 1..].trim_start();
        let (password, tail) = match value.strip_prefix('"') {
            Some(v) => match v.find('"') {
                Some(end) => (&v[..end], &v[end + 1..]),
                None => (v, ""),
            },
            None => {
                let end = value
                    .find(|c: char| c.is_whitespace() || c == ';')
                    .unwrap_or(value.len());
                (&value[..end], &value[end..])
            }
        };
        // Only an option at a word start counts (not `xuser_a`).
        let at_start = i == 0
            || rest[..i]
                .chars()
                .last()
                .is_some_and(|c| c.is_whitespace() || c == ';');
        if at_start && !name.is_empty() && !name.contains(char::is_whitespace) {
            users.insert(name.to_string(), password.to_string());
        }
        rest = tail;
    }
    PlainUsers(users)
}

/// Certificate and key keys, client auth and trust: `None` when neither
/// certificate nor key is set.
fn tls_files(
    get: &dyn Fn(&str) -> Option<String>,
    [cert, key, trust_key]: [&str; 3],
    client_auth: ClientAuth,
) -> Result<Option<TlsSettings>, String> {
    match (get(cert), get(key)) {
        (None, None) => Ok(None),
        (Some(c), Some(k)) => {
            let trust = get(trust_key).map(|t| Pem::from_value(&t));
            if client_auth != ClientAuth::None && trust.is_none() {
                return Err(format!("client certificates need {trust_key}"));
            }
            Ok(Some(TlsSettings {
                cert_chain: Pem::from_value(&c),
                key: Pem::from_value(&k),
                client_auth,
                trust,
            }))
        }
        _ => Err(format!("set both {cert} and {key}")),
    }
}

fn getter(m: &BTreeMap<String, String>) -> impl Fn(&str) -> Option<String> + '_ {
    |k| m.get(k).filter(|v| !v.trim().is_empty()).cloned()
}

fn remoting_tls(m: &BTreeMap<String, String>) -> Result<RemotingTls, String> {
    let get = getter(m);
    let need = match get("tls.server.need.client.auth") {
        Some(v) => v.parse::<ClientAuth>()?,
        None => ClientAuth::None,
    };
    let strict = get("tls.server.authClient")
        .map(|v| bool_value(&v))
        .transpose()?;
    let client_auth = if strict == Some(true) && need == ClientAuth::None {
        ClientAuth::Required
    } else {
        need
    };
    let settings = tls_files(
        &get,
        [
            "tls.server.certPath",
            "tls.server.keyPath",
            "tls.server.trustCertPath",
        ],
        client_auth,
    )?;
    let mode = match get("tls.server.mode") {
        Some(v) => v.parse::<TlsMode>()?,
        None if settings.is_some() => TlsMode::Permissive,
        None => TlsMode::Disabled,
    };
    if mode != TlsMode::Disabled && settings.is_none() {
        return Err(
            "tls.server.mode other than disabled needs tls.server.certPath and tls.server.keyPath"
                .to_string(),
        );
    }
    Ok(RemotingTls { mode, settings })
}

fn http_tls(m: &BTreeMap<String, String>) -> Result<Option<TlsSettings>, String> {
    let get = getter(m);
    let client_auth = match get("rokka.http.tls.clientAuth") {
        Some(v) => v.parse::<ClientAuth>()?,
        None => ClientAuth::None,
    };
    tls_files(
        &get,
        [
            "rokka.http.tls.certPath",
            "rokka.http.tls.keyPath",
            "rokka.http.tls.trustCertPath",
        ],
        client_auth,
    )
}

#[cfg(test)]
mod tests;
