//! Process lifecycle, between `main.rs` (flags, config, logging, runtime) and the
//! listeners: create the data directory, bind the HTTP listener, open and
//! recover the store, serve until SIGINT/SIGTERM, then stop accepting and shut
//! the store down (flush, checkpoint, abort marker removed, lock released).
//!
//! The HTTP listener is bound *before* the store is opened, so a taken port
//! fails fast instead of after a long recovery; it is served (and logged as
//! `http listening on ADDR`) only once the store is up. The NameServer,
//! RocketMQ and Kafka ports are configured but not bound until their
//! front-ends exist.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use prometheus::Registry;
use rokka_store::{Store, StoreConfig, StoreError};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tracing::{debug, info, warn};

use crate::broker::Broker;
use crate::config::{BrokerConfig, BrokerRole};
use crate::http::{self, HttpState};
use crate::metrics::{self, HttpMetrics};
use crate::net::tls::{ListenerTls, TlsMode};

/// Why the broker could not start, or could not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The data directory cannot be created (a parent is a file, no permission...).
    #[error("cannot create data directory {}: {source}", .path.display())]
    CreateDataDir {
        /// The data directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Another process holds the store's lock.
    #[error(
        "data directory {} is already in use by another rokka process (lock file {} is held)",
        .data_dir.display(),
        .lock.display()
    )]
    DataDirInUse {
        /// The data directory.
        data_dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The store cannot be opened or recovered.
    #[error("cannot open the store in {}: {source}", .data_dir.display())]
    OpenStore {
        /// The data directory.
        data_dir: PathBuf,
        /// What the store reported.
        source: StoreError,
    },
    /// A listener cannot be bound.
    #[error("cannot listen for {what} on {addr}: {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// The address it was to bind.
        addr: SocketAddr,
        /// The underlying error.
        source: io::Error,
    },
    /// A listener's TLS settings cannot be used (unreadable or bad PEM).
    #[error("cannot set up TLS for {what}: {reason}")]
    Tls {
        /// Which listener.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// SIGINT/SIGTERM handlers cannot be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(io::Error),
    /// A metric cannot be registered (a name clash between crates).
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// `__consumer_offsets` cannot be created or reconciled (ADR 011).
    #[error("cannot prepare __consumer_offsets: {0}")]
    OffsetsTopic(StoreError),
    /// `__transaction_state` cannot be created or read (ADR 014).
    #[error("cannot prepare __transaction_state: {0}")]
    TransactionState(StoreError),
    /// Cluster mode cannot start (bad addresses, Raft storage, ports).
    #[error("cannot start cluster mode: {0}")]
    Cluster(String),
    /// The store reported an error while shutting down.
    #[error("store shutdown failed: {0}")]
    Shutdown(StoreError),
    /// A blocking store call panicked.
    #[error("a blocking store task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// A second signal arrived while the store was shutting down.
    #[error("received {0} again during shutdown; exiting before the store finished shutting down")]
    Interrupted(&'static str),
}

/// SIGINT and SIGTERM, installed once at startup so that a signal arriving
/// while the store recovers is kept and acted on as soon as serving starts.
#[derive(Debug)]
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Installs the handlers; from now on these signals no longer kill the process.
    pub fn install() -> io::Result<Self> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for the next SIGINT or SIGTERM and returns its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// Runs the broker until SIGINT or SIGTERM, then shuts it down cleanly.
pub async fn run(config: BrokerConfig) -> Result<(), StartupError> {
    let mut signals = Signals::install().map_err(StartupError::Signals)?;
    log_config(&config);

    let data_dir = config.data_dir().to_path_buf();
    std::fs::create_dir_all(&data_dir).map_err(|source| StartupError::CreateDataDir {
        path: data_dir.clone(),
        source,
    })?;
    let http_listener = bind("http", config.http_listen).await?;
    let http_tls = match &config.security.http_tls {
        Some(t) => ListenerTls::new("http", TlsMode::Enforcing, Some(t)),
        None => Ok(ListenerTls::plain("http")),
    }
    .map_err(|e| StartupError::Tls {
        what: "http",
        reason: e.to_string(),
    })?;

    let registry = Registry::new();
    metrics::register_process_metrics(&registry)?;
    crate::security::register(&registry)?;
    let http_metrics = HttpMetrics::register(&registry)?;
    let store = open_store(config.store.clone(), registry.clone()).await?;
    // The log cleaner reads compressed Kafka batches with the broker's codecs.
    store.set_kafka_decompressor(Arc::new(|codec, data| {
        rokka_protocols::kafka::compression::decompress(codec, data).ok()
    }));
    // rokka-store logs the report at info level itself.
    debug!(report = ?store.recovery_report(), "store opened");

    let http_addr = bound_addr(&http_listener, "http", config.http_listen)?;
    info!("http listening on {http_addr}");

    // Bound before the cluster registration, which advertises its port (the
    // gRPC routes of other nodes name it, ADR 021).
    let grpc_listener = bind("grpc", config.grpc_listen).await?;
    let grpc_addr = bound_addr(&grpc_listener, "grpc", config.grpc_listen)?;

    // Cluster mode: the store is read-only until the follow loop knows this
    // node's role (started below, once the front-ends registered their hooks).
    let cluster = match &config.cluster {
        Some(settings) => Some(
            crate::cluster::Cluster::start(
                &config,
                settings,
                store.clone(),
                &registry,
                (http_addr, grpc_addr),
            )
            .await?,
        ),
        None => None,
    };
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let mut broker = Broker::new(
        Arc::new(config),
        store.clone(),
        registry.clone(),
        shutdown_rx,
    );
    if let Some(c) = &cluster {
        broker = broker.with_cluster(c.clone());
        // POP reads stop at the high watermark, as pulls do (ADR 015).
        if let Some(pop) = &broker.pop {
            let (c1, c2) = (c.clone(), c.clone());
            pop.set_read_limit(
                Box::new(move || c1.high_watermark()),
                Box::new(move |t| {
                    let c = c2.clone();
                    Box::pin(async move { c.wait_ack(t).await })
                }),
            );
        }
    }
    metrics::register_broker_metrics(&broker)?;
    tokio::spawn(crate::broker::timer_task::run(broker.core.clone()));
    if let Some(pop) = broker.pop.clone() {
        tokio::spawn(crate::broker::pop::revive::run(broker.core.clone(), pop));
    }
    // Kafka first: it reconciles __consumer_offsets and installs the offset
    // observer before any RocketMQ commit can arrive (ADR 011).
    let mut front_ends = crate::kafka::start(&broker).await?;
    front_ends.extend(crate::remoting::start(&broker, grpc_listener).await?);
    if let Some(c) = &cluster {
        c.run();
    }
    info!("rokka {} ready", env!("CARGO_PKG_VERSION"));

    let state = HttpState {
        registry,
        metrics: http_metrics,
        store: Some(store.clone()),
        cluster: cluster.clone(),
        tls: http_tls,
    };
    http::run(http_listener, state, async {
        let name = signals.recv().await;
        info!("received {name}, shutting down");
    })
    .await;

    // Stop accepting and let connections finish their current request.
    let _ = shutdown_tx.send(true);
    for task in front_ends {
        if tokio::time::timeout(std::time::Duration::from_secs(5), task)
            .await
            .is_err()
        {
            warn!("a front-end did not stop within 5 s; shutting the store down anyway");
        }
    }
    drop(broker);
    if let Some(c) = cluster {
        c.shutdown().await;
    }

    info!("shutting down the store (flush, checkpoint)");
    let closing = tokio::task::spawn_blocking(move || store.shutdown());
    tokio::select! {
        closed = closing => closed?.map_err(StartupError::Shutdown)?,
        name = signals.recv() => return Err(StartupError::Interrupted(name)),
    }
    info!("shutdown complete");
    Ok(())
}

fn log_config(config: &BrokerConfig) {
    info!(
        version = env!("CARGO_PKG_VERSION"),
        config_file = %config.config_file.as_deref().map_or("none".into(), |p| p.display().to_string()),
        data_dir = %config.data_dir().display(),
        broker = %config.broker_name,
        cluster = %config.broker_cluster_name,
        "rokka starting"
    );
    debug!(?config, "resolved configuration");
    if config.broker_role == BrokerRole::SyncMaster && config.cluster.is_none() {
        warn!("brokerRole=SYNC_MASTER without cluster mode (controller.quorum.voters): no replicas, so it acknowledges like ASYNC_MASTER");
    }
    if config.broker_id != 0 && config.cluster.is_none() {
        warn!(
            broker_id = config.broker_id,
            "brokerId is not 0 but this broker acts as a master"
        );
    }
}

pub(crate) async fn bind(
    what: &'static str,
    addr: SocketAddr,
) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { what, addr, source })
}

/// The address `l` (bound for `what` at `addr`) listens on.
pub(crate) fn bound_addr(
    l: &TcpListener,
    what: &'static str,
    addr: SocketAddr,
) -> Result<SocketAddr, StartupError> {
    l.local_addr()
        .map_err(|source| StartupError::Bind { what, addr, source })
}

/// Opens (and if needed recovers) the store off the async workers.
async fn open_store(config: StoreConfig, registry: Registry) -> Result<Store, StartupError> {
    let data_dir = config.root_dir.clone();
    let opened = tokio::task::spawn_blocking(move || Store::open(config, &registry)).await?;
    opened.map_err(|e| match e {
        StoreError::Locked { path } => StartupError::DataDirInUse {
            data_dir,
            lock: path,
        },
        source => StartupError::OpenStore { data_dir, source },
    })
}
