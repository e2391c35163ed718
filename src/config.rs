//! The broker's resolved configuration. `main.rs` parses flags and `ROKKA_*`
//! environment variables into [`Overrides`]; [`BrokerConfig::load`] layers them
//! over the config file and the built-in defaults and hands back one typed
//! [`BrokerConfig`] that startup passes down (there are no globals).
//!
//! Precedence, lowest first: built-in defaults < config file (`-c FILE`) <
//! environment (`ROKKA_*`, and `RUST_LOG` for the log filter) < command-line flags.
//!
//! The data directory *is* the store root (RocketMQ `storePathRootDir`): it holds
//! `commitlog/`, `consumequeue/`, `index/`, `config/`, the `checkpoint`, the
//! `abort` marker and the lock file. Default: `./data` under the working directory.
//! Relative paths are taken relative to the working directory, as RocketMQ does.
//!
//! Default listeners (all on `0.0.0.0` unless `--bind-address` says otherwise):
//!
//! | listener | port | flag / env / key |
//! |---|---|---|
//! | NameServer (remoting) | 9876 | `--namesrv-port`, `ROKKA_NAMESRV_PORT`, `rokka.namesrvPort` |
//! | RocketMQ broker (remoting) | 10911 | `--listen-port`, `ROKKA_LISTEN_PORT`, `listenPort` |
//! | Kafka | 9092 | `--kafka-port`, `ROKKA_KAFKA_PORT`, `rokka.kafkaPort`, `listeners` |
//! | HTTP (`/metrics`, `/healthz`) | 8080 | `--http-port`, `ROKKA_HTTP_PORT`, `rokka.httpPort` |
//! | gRPC (RocketMQ 5.x SDKs) | 8081 | `--grpc-port`, `ROKKA_GRPC_PORT`, `grpcServerPort` |
//!
//! HTTP defaults to 8080, the port Prometheus examples and most exporters'
//! docs assume for a service's own endpoint; RocketMQ and Kafka use none of it.
//! The config-file keys are listed in `config/keys.rs`.

mod cluster_keys;
mod keys;
pub mod properties;
pub mod security;

pub use cluster_keys::ClusterSettings;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};

use rokka_store::{StoreConfig, StoreError};

/// Data directory used when none is configured, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "data";
/// Default NameServer port (RocketMQ).
pub const DEFAULT_NAMESRV_PORT: u16 = 9876;
/// Default RocketMQ broker port (`listenPort`).
pub const DEFAULT_LISTEN_PORT: u16 = 10911;
/// Default Kafka port.
pub const DEFAULT_KAFKA_PORT: u16 = 9092;
/// Default HTTP port for `/metrics` and `/healthz`.
pub const DEFAULT_HTTP_PORT: u16 = 8080;
/// Default gRPC port (the RocketMQ 5.x proxy's `grpcServerPort`).
pub const DEFAULT_GRPC_PORT: u16 = 8081;
/// Log filter used when neither flag, env nor file sets one.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// Role of this broker in a RocketMQ master/slave set (`brokerRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    /// A master that acknowledges before slaves copy (the default).
    AsyncMaster,
    /// A master that acknowledges after `min.insync.replicas` replicas
    /// (itself included) hold the message; alone (no cluster) it behaves as
    /// [`BrokerRole::AsyncMaster`].
    SyncMaster,
}

/// How log lines are written to stderr (`--log-format`, `rokka.logFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `message`
    /// and the event's other fields).
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(v: &str) -> Result<LogFormat, String> {
        match v.to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("expected text or json".to_string()),
        }
    }
}

/// The address Kafka clients are told to connect to (`advertised.listeners`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertisedListener {
    /// Host name or IP address, as written.
    pub host: String,
    /// Port.
    pub port: u16,
}

/// Settings given on the command line or in `ROKKA_*` variables (clap merges
/// the two, flag over env). `None` leaves the file's or default value in place.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Config file to read (`-c`, `ROKKA_CONFIG`).
    pub config_file: Option<PathBuf>,
    /// Data directory (store root).
    pub data_dir: Option<PathBuf>,
    /// Address every listener binds to; also replaces the host of `listeners`.
    pub bind_address: Option<IpAddr>,
    /// HTTP port.
    pub http_port: Option<u16>,
    /// Kafka port; also replaces the port of `listeners`.
    pub kafka_port: Option<u16>,
    /// NameServer port.
    pub namesrv_port: Option<u16>,
    /// RocketMQ broker port (`listenPort`).
    pub listen_port: Option<u16>,
    /// gRPC port (`grpcServerPort`).
    pub grpc_port: Option<u16>,
    /// Log filter from `--log-level` / `ROKKA_LOG_LEVEL`.
    pub log_level: Option<String>,
    /// The `RUST_LOG` variable, below `--log-level` but above the file.
    pub rust_log: Option<String>,
    /// `--no-compat-metrics`: turns the exporter-compatible families off.
    pub no_compat_metrics: bool,
    /// `--log-format` / `ROKKA_LOG_FORMAT`.
    pub log_format: Option<LogFormat>,
    /// `--override KEY=VALUE` (Kafka's `kafka-server-start --override`): any
    /// config-file key, applied in order after the file.
    pub properties: Vec<String>,
}

/// RocketMQ's transaction back-check (`transactionTimeOut`,
/// `transactionCheckInterval`, `transactionCheckMax`): a half message left
/// unresolved for `timeout` is checked with its producer group every
/// `interval`, at most `max` times, then discarded (rolled back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionCheck {
    /// Age of a half message before its first check.
    pub timeout: std::time::Duration,
    /// Period of the check pass.
    pub interval: std::time::Duration,
    /// Checks per half message before it is discarded.
    pub max: u32,
}

impl Default for TransactionCheck {
    fn default() -> Self {
        TransactionCheck {
            timeout: std::time::Duration::from_secs(6),
            interval: std::time::Duration::from_secs(60),
            max: 15,
        }
    }
}

pub use rokka_broker::TimerConfig;

/// Everything the broker process needs to start, resolved and typed.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `brokerName` (default `broker-a`).
    pub broker_name: String,
    /// `brokerClusterName` (default `DefaultCluster`).
    pub broker_cluster_name: String,
    /// `brokerId`; 0 is the master.
    pub broker_id: u64,
    /// `brokerRole`.
    pub broker_role: BrokerRole,
    /// `namesrvAddr`: NameServers to register with, `host:port` each. Empty means
    /// the embedded NameServer only.
    pub namesrv_addr: Vec<String>,
    /// `autoCreateTopicEnable` / `auto.create.topics.enable` (default true).
    pub auto_create_topic_enable: bool,
    /// `enablePropertyFilter`: SQL92 subscriptions accepted (default false).
    pub enable_property_filter: bool,
    /// `defaultTopicQueueNums` / `num.partitions` for auto-created topics (default 8).
    pub default_topic_queue_nums: u32,
    /// `autoCreateSubscriptionGroup`: a consumer group gets its subscription
    /// group record on first use (default true).
    pub auto_create_subscription_group: bool,
    /// `offsets.topic.num.partitions`: partitions of `__consumer_offsets`
    /// when it is first created (default 50, Kafka's).
    pub offsets_topic_partitions: u32,
    /// `transaction.max.timeout.ms`: the largest `transaction.timeout.ms` a
    /// Kafka transactional producer may ask for (default 900 000, Kafka's).
    pub transaction_max_timeout_ms: u32,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: period
    /// of the pass aborting expired Kafka transactions (default 10 000).
    pub transaction_abort_interval: std::time::Duration,
    /// Back-checks of unresolved transactional (half) messages.
    pub transaction_check: TransactionCheck,
    /// Timer messages.
    pub timer: TimerConfig,
    /// `log.retention.check.interval.ms`: period of the per-topic Kafka
    /// retention pass (default 300 000 ms, as Kafka).
    pub retention_check_interval: std::time::Duration,
    /// Where the embedded NameServer listens.
    pub namesrv_listen: SocketAddr,
    /// Where the RocketMQ broker (remoting) listens (`listenPort`).
    pub broker_listen: SocketAddr,
    /// Where the Kafka front-end listens (`listeners`, `rokka.kafkaPort`).
    pub kafka_listen: SocketAddr,
    /// What Kafka clients are told to connect to, if not `kafka_listen`.
    pub kafka_advertised: Option<AdvertisedListener>,
    /// Where `/metrics` and `/healthz` are served.
    pub http_listen: SocketAddr,
    /// Where the gRPC front-end for the 5.x SDKs listens (`grpcServerPort`).
    pub grpc_listen: SocketAddr,
    /// `rokka.compatMetrics`: also publish kafka_exporter and RocketMQ
    /// exporter families (default true; `--no-compat-metrics` turns it off).
    pub compat_metrics: bool,
    /// `tracing` filter directive (EnvFilter syntax).
    pub log_filter: String,
    /// `rokka.logFormat` / `--log-format`: text (default) or json.
    pub log_format: LogFormat,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// The store's settings; `store.root_dir` is the data directory.
    pub store: StoreConfig,
    /// Connection limits and timeouts of the listeners.
    pub net: crate::net::NetConfig,
    /// `node.id`: the Kafka node id (and Raft id in cluster mode); `brokerId` when unset.
    pub node_id: Option<u64>,
    /// Cluster mode (`controller.quorum.voters`), if on.
    pub cluster: Option<ClusterSettings>,
    /// Where the CommitLog replication (HA) listener binds (`haListenPort`).
    pub ha_listen: SocketAddr,
    /// `min.insync.replicas` / `inSyncReplicas`, master included.
    pub min_insync_replicas: u32,
    /// `default.replication.factor` (informational; ADR 015).
    pub default_replication_factor: u32,
    /// `rokka.replicaAckTimeoutMs`: longest replica wait of acks=all / SYNC_MASTER.
    pub replica_ack_timeout: std::time::Duration,
    /// TLS, SASL and ACL settings of every listener (ADR 016).
    pub security: security::SecurityConfig,
}

/// Why the configuration cannot be resolved. Each variant names its source
/// (file and line) so the operator can fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error("cannot read config file {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line is not a properties entry.
    #[error("{}:{line}: {reason}", .path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The file sets a key rokka does not know.
    #[error("{}:{line}: unknown key `{key}`{}", .path.display(), suggestion_hint(.suggestion))]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The key as written.
        key: String,
        /// A known key that differs only in case, if any.
        suggestion: Option<&'static str>,
    },
    /// The file gives a key a value it cannot take.
    #[error("{}:{line}: invalid value `{value}` for key `{key}`: {reason}", .path.display())]
    InvalidValue {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A flag or environment value is refused.
    #[error("invalid {name}: {reason}")]
    InvalidOverride {
        /// The flag (and its variable).
        name: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// The settings are individually valid but do not fit together.
    #[error("invalid configuration: {0}")]
    Inconsistent(String),
}

fn suggestion_hint(suggestion: &Option<&'static str>) -> String {
    suggestion.map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"))
}

/// Settings while the sources are applied one over another. Fields whose
/// default depends on another setting stay `Option` until [`Draft::finish`].
#[derive(Debug, Clone)]
struct Draft {
    broker_name: String,
    broker_cluster_name: String,
    broker_id: u64,
    broker_role: BrokerRole,
    namesrv_addr: Vec<String>,
    auto_create_topic_enable: bool,
    enable_property_filter: bool,
    default_topic_queue_nums: u32,
    auto_create_subscription_group: bool,
    offsets_topic_partitions: u32,
    transaction_max_timeout_ms: u32,
    transaction_abort_interval: std::time::Duration,
    transaction_check: TransactionCheck,
    timer: TimerConfig,
    retention_check_interval: std::time::Duration,
    data_dir: PathBuf,
    commit_log_dir: Option<PathBuf>,
    bind_address: IpAddr,
    broker_ip: Option<IpAddr>,
    namesrv_port: u16,
    listen_port: u16,
    kafka_port: u16,
    /// Host part of Kafka `listeners`, over `bind_address`.
    kafka_host: Option<IpAddr>,
    kafka_advertised: Option<AdvertisedListener>,
    http_port: u16,
    grpc_port: u16,
    compat_metrics: bool,
    log_level: Option<String>,
    log_format: LogFormat,
    /// Store knobs; `root_dir`, `commit_log_dir` and `store_host` are set in `finish`.
    store: StoreConfig,
    net: crate::net::NetConfig,
    cluster: cluster_keys::ClusterDraft,
    security: security::SecurityDraft,
}

impl Default for Draft {
    fn default() -> Self {
        Draft {
            broker_name: "broker-a".to_string(),
            broker_cluster_name: "DefaultCluster".to_string(),
            broker_id: 0,
            broker_role: BrokerRole::AsyncMaster,
            namesrv_addr: Vec::new(),
            auto_create_topic_enable: true,
            enable_property_filter: false,
            default_topic_queue_nums: 4,
            auto_create_subscription_group: true,
            offsets_topic_partitions: 50,
            transaction_max_timeout_ms: 900_000,
            transaction_abort_interval: std::time::Duration::from_secs(10),
            transaction_check: TransactionCheck::default(),
            timer: TimerConfig::default(),
            retention_check_interval: std::time::Duration::from_secs(300),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            commit_log_dir: None,
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            broker_ip: None,
            namesrv_port: DEFAULT_NAMESRV_PORT,
            listen_port: DEFAULT_LISTEN_PORT,
            kafka_port: DEFAULT_KAFKA_PORT,
            kafka_host: None,
            kafka_advertised: None,
            http_port: DEFAULT_HTTP_PORT,
            grpc_port: DEFAULT_GRPC_PORT,
            compat_metrics: true,
            log_level: None,
            log_format: LogFormat::Text,
            store: StoreConfig::new(DEFAULT_DATA_DIR),
            net: crate::net::NetConfig::default(),
            cluster: cluster_keys::ClusterDraft::default(),
            security: security::SecurityDraft::default(),
        }
    }
}

impl Draft {
    fn apply_file(&mut self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let entries = properties::parse(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            line: e.line,
            reason: e.reason,
        })?;
        self.apply_entries(path, entries)
    }

    /// `--override KEY=VALUE` flags, reported as lines of a file named
    /// `--override` (the n-th flag is line n).
    fn apply_property_overrides(&mut self, given: &[String]) -> Result<(), ConfigError> {
        let path = Path::new("--override");
        let mut entries = Vec::with_capacity(given.len());
        for (i, kv) in given.iter().enumerate() {
            let Some((key, value)) = kv.split_once('=') else {
                return Err(ConfigError::Syntax {
                    path: path.to_path_buf(),
                    line: i + 1,
                    reason: "expected KEY=VALUE",
                });
            };
            entries.push(properties::Entry {
                key: key.trim().to_string(),
                value: value.trim().to_string(),
                line: i + 1,
            });
        }
        self.apply_entries(path, entries)
    }

    fn apply_entries(
        &mut self,
        path: &Path,
        entries: Vec<properties::Entry>,
    ) -> Result<(), ConfigError> {
        for entry in entries {
            let invalid = |reason| ConfigError::InvalidValue {
                path: path.to_path_buf(),
                line: entry.line,
                key: entry.key.clone(),
                value: entry.value.clone(),
                reason,
            };
            if let Some(applied) = security::apply(&mut self.security, &entry.key, &entry.value) {
                applied.map_err(invalid)?;
                continue;
            }
            let Some(key) = keys::find(&entry.key) else {
                return Err(ConfigError::UnknownKey {
                    path: path.to_path_buf(),
                    line: entry.line,
                    suggestion: keys::suggest(&entry.key),
                    key: entry.key,
                });
            };
            (key.apply)(self, &entry.value).map_err(invalid)?;
        }
        Ok(())
    }

    fn apply_overrides(&mut self, o: &Overrides) -> Result<(), ConfigError> {
        if let Some(dir) = &o.data_dir {
            if dir.as_os_str().is_empty() {
                return Err(ConfigError::InvalidOverride {
                    name: "--data-dir (ROKKA_DATA_DIR)",
                    reason: "must not be empty".to_string(),
                });
            }
            self.data_dir = dir.clone();
        }
        if let Some(ip) = o.bind_address {
            self.bind_address = ip;
            self.kafka_host = None;
        }
        let ports = [
            (o.http_port, &mut self.http_port),
            (o.kafka_port, &mut self.kafka_port),
            (o.namesrv_port, &mut self.namesrv_port),
            (o.listen_port, &mut self.listen_port),
            (o.grpc_port, &mut self.grpc_port),
        ];
        for (given, field) in ports {
            if let Some(port) = given {
                *field = port;
            }
        }
        if o.no_compat_metrics {
            self.compat_metrics = false;
        }
        if let Some(format) = o.log_format {
            self.log_format = format;
        }
        // Env (RUST_LOG) over file, flag/ROKKA_LOG_LEVEL over both.
        if let Some(filter) = o.log_level.as_ref().or(o.rust_log.as_ref()) {
            let name = if o.log_level.is_some() {
                "--log-level (ROKKA_LOG_LEVEL)"
            } else {
                "RUST_LOG"
            };
            keys::check_log_filter(filter)
                .map_err(|reason| ConfigError::InvalidOverride { name, reason })?;
            self.log_level = Some(filter.clone());
        }
        Ok(())
    }

    fn finish(self, config_file: Option<PathBuf>) -> Result<BrokerConfig, ConfigError> {
        let listen = |ip: IpAddr, port: u16| SocketAddr::new(ip, port);
        let broker_ip = self.broker_ip.unwrap_or_else(|| {
            if self.bind_address.is_unspecified() {
                local_ip().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
            } else {
                self.bind_address
            }
        });
        let mut store = self.store;
        store.commit_log_dir = self
            .commit_log_dir
            .unwrap_or_else(|| self.data_dir.join("commitlog"));
        store.root_dir = self.data_dir;
        store.store_host = SocketAddr::new(broker_ip, self.listen_port);
        let cluster = self.cluster.finish().map_err(ConfigError::Inconsistent)?;
        // RocketMQ's default haListenPort is listenPort + 1; an ephemeral
        // listen port (tests) gets an ephemeral HA port.
        let ha_port = self.cluster.ha_port.unwrap_or(match self.listen_port {
            0 => 0,
            p => p.saturating_add(1),
        });
        store.validate().map_err(|e| {
            ConfigError::Inconsistent(match e {
                StoreError::Config(msg) => msg,
                other => other.to_string(),
            })
        })?;
        let kafka_listen = listen(
            self.kafka_host.unwrap_or(self.bind_address),
            self.kafka_port,
        );
        let mut kafka_advertised = self.kafka_advertised;
        let security = security::finish(
            self.security,
            kafka_listen,
            self.bind_address,
            &mut kafka_advertised,
        )
        .map_err(ConfigError::Inconsistent)?;
        Ok(BrokerConfig {
            broker_name: self.broker_name,
            broker_cluster_name: self.broker_cluster_name,
            broker_id: self.broker_id,
            broker_role: self.broker_role,
            namesrv_addr: self.namesrv_addr,
            auto_create_topic_enable: self.auto_create_topic_enable,
            enable_property_filter: self.enable_property_filter,
            default_topic_queue_nums: self.default_topic_queue_nums,
            auto_create_subscription_group: self.auto_create_subscription_group,
            offsets_topic_partitions: self.offsets_topic_partitions,
            transaction_max_timeout_ms: self.transaction_max_timeout_ms,
            transaction_abort_interval: self.transaction_abort_interval,
            transaction_check: self.transaction_check,
            timer: self.timer,
            retention_check_interval: self.retention_check_interval,
            namesrv_listen: listen(self.bind_address, self.namesrv_port),
            broker_listen: listen(self.bind_address, self.listen_port),
            kafka_listen,
            kafka_advertised,
            http_listen: listen(self.bind_address, self.http_port),
            grpc_listen: listen(self.bind_address, self.grpc_port),
            compat_metrics: self.compat_metrics,
            log_filter: self
                .log_level
                .unwrap_or_else(|| DEFAULT_LOG_FILTER.to_string()),
            log_format: self.log_format,
            config_file,
            store,
            net: self.net,
            node_id: self.cluster.node_id,
            cluster,
            ha_listen: listen(self.bind_address, ha_port),
            min_insync_replicas: self.cluster.min_insync_replicas,
            default_replication_factor: self.cluster.replication_factor,
            replica_ack_timeout: self.cluster.ack_timeout,
            security,
        })
    }
}

/// The address this host uses to reach the outside, found by asking the
/// kernel for the route to a public address (a UDP connect sends nothing).
/// RocketMQ likewise defaults `brokerIP1` to a non-loopback local address.
fn local_ip() -> Option<IpAddr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// Whether `name` is a config-file key rokka understands (any vocabulary).
pub fn is_known_key(name: &str) -> bool {
    keys::find(name).is_some()
}

/// Checks `value` for the config-file key `name` exactly as the config file
/// is checked; the error says why it is refused.
pub fn check_value(name: &str, value: &str) -> Result<(), String> {
    let key = keys::find(name).ok_or_else(|| format!("unknown key {name}"))?;
    (key.apply)(&mut Draft::default(), value)
}

impl BrokerConfig {
    /// Resolves the configuration: defaults, then the config file named in
    /// `overrides` (if any), then `overrides` themselves.
    pub fn load(overrides: &Overrides) -> Result<BrokerConfig, ConfigError> {
        let file = match &overrides.config_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                Some((path.as_path(), text))
            }
            None => None,
        };
        Self::from_sources(file.as_ref().map(|(p, t)| (*p, t.as_str())), overrides)
    }

    /// Like [`BrokerConfig::load`] with the file's text given: `file` is the
    /// path (for messages) and the properties text.
    pub fn from_sources(
        file: Option<(&Path, &str)>,
        overrides: &Overrides,
    ) -> Result<BrokerConfig, ConfigError> {
        let mut draft = Draft::default();
        if let Some((path, text)) = file {
            draft.apply_file(path, text)?;
        }
        draft.apply_property_overrides(&overrides.properties)?;
        draft.apply_overrides(overrides)?;
        draft.finish(file.map(|(p, _)| p.to_path_buf()))
    }

    /// The data directory (the store root).
    pub fn data_dir(&self) -> &Path {
        &self.store.root_dir
    }
}

#[cfg(test)]
mod tests;
