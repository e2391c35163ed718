//! The protocol-neutral broker core shared by both front-ends: the store, the
//! resolved configuration, the metrics registry, the shutdown signal, and the
//! operations both protocols need (topics and their auto-creation). A request
//! moves down: socket → frame → typed request → broker operation → store.
//!
//! Front-end-specific state (RocketMQ client tables, Kafka group coordinator)
//! lives in `remoting/` and `kafka/`; operations both use live here, one file
//! per concern (`groups.rs`: which ecosystem a consumer group is live in).

pub mod delay;
pub mod dynamic_config;
pub mod filter;
pub mod format;
pub mod groups;
pub mod pop;
pub mod put;
pub mod subscription;
pub mod timer;
pub mod timer_task;
pub mod topics;
pub mod txn_index;

use std::sync::Arc;

use prometheus::Registry;
use rokka_store::Store;
use tokio::sync::watch;

use crate::config::BrokerConfig;

/// The offset-table group where the RocketMQ scheduler keeps each delay
/// level's delivered offset: broker bookkeeping, not a consumer group.
pub const DELAY_PROGRESS_GROUP: &str = "rokka_delay_offset";

/// The consumer groups of the shared offset table (both protocols), without
/// the broker's own bookkeeping groups; what ListGroups, consumedBy and the
/// metrics show.
pub fn consumer_groups(store: &Store) -> Vec<String> {
    let mut groups = store.offsets().groups();
    groups.retain(|g| g != DELAY_PROGRESS_GROUP);
    groups
}

/// Everything a front-end handler needs; cheap to clone.
#[derive(Debug, Clone)]
pub struct Broker {
    /// The resolved configuration.
    pub config: Arc<BrokerConfig>,
    /// The shared store.
    pub store: Store,
    /// The registry `/metrics` serves.
    pub registry: Registry,
    /// Live consumer-group members per ecosystem (ADR 006).
    pub groups: Arc<groups::GroupRegistry>,
    /// Kafka batches converted for RocketMQ readers, shared by all pulls.
    pub converted: Arc<format::cache::ConvertedBatches>,
    /// Open and aborted Kafka transactions per partition (ADR 014).
    pub txns: Arc<txn_index::TxnIndex>,
    /// Settings changed at run time (UPDATE_BROKER_CONFIG), persisted.
    pub dynamic: Arc<dynamic_config::DynamicConfig>,
    /// Cluster mode (issue 12, ADR 015), when configured.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// Credentials and ACLs (ADR 016).
    pub security: Arc<crate::security::Security>,
    /// Compiled SQL92 selectors per (group, topic).
    pub filters: Arc<filter::FilterCache>,
    /// POP consumption (ADR 020); `None` when its journal cannot be opened
    /// (logged at start; POP requests then fail with a clear error).
    pub pop: Option<Arc<pop::PopEngine>>,
    /// Undelivered timer messages (ADR 019).
    pub timers: Arc<timer::Timers>,
    shutdown: watch::Receiver<bool>,
}

impl Broker {
    /// Builds the core; `shutdown` turns true when the process stops.
    pub fn new(
        config: Arc<BrokerConfig>,
        store: Store,
        registry: Registry,
        shutdown: watch::Receiver<bool>,
    ) -> Broker {
        let dynamic = Arc::new(dynamic_config::DynamicConfig::open(
            &config,
            &store.config().config_dir(),
        ));
        let converted: Arc<format::cache::ConvertedBatches> = Arc::default();
        let pop = pop::PopEngine::open(
            &store.config().config_dir().join("pop"),
            store.clone(),
            converted.clone(),
        )
        .inspect_err(|e| tracing::error!("POP journal cannot be opened, POP is off: {e}"))
        .ok()
        .map(Arc::new);
        let timers = Arc::new(timer_task::load(&store, &config.timer, &registry));
        Broker {
            timers,
            dynamic,
            pop,
            security: Arc::new(crate::security::Security::open(
                &config.security,
                &store.config().config_dir(),
            )),
            config,
            store,
            registry,
            groups: Arc::default(),
            converted,
            txns: Arc::default(),
            filters: Arc::default(),
            cluster: None,
            shutdown,
        }
    }

    /// The same core in cluster mode.
    pub fn with_cluster(mut self, cluster: Arc<crate::cluster::Cluster>) -> Broker {
        self.cluster = Some(cluster);
        self
    }

    /// Resolves when the broker is shutting down (listeners stop accepting).
    pub async fn shutdown_signal(&self) {
        let mut rx = self.shutdown.clone();
        // An error means the sender is gone, which also means shutdown.
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// True once shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}
