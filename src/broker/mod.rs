//! The broker as the front-ends (remoting, Kafka, gRPC) see it: the
//! protocol-neutral [`Core`] of the `rokka-broker` crate (ADR 023), plus what
//! needs this process's configuration, cluster mode or security: topic
//! auto-creation (`topics.rs`), subscription groups (`subscription.rs`) and
//! settings changed at run time (`dynamic_config.rs`). A request moves down:
//! socket → frame → typed request → broker operation → store.
//!
//! Front-end-specific state (RocketMQ client tables, Kafka group coordinator)
//! lives in `remoting/`, `kafka/` and `grpc/`.

pub mod dynamic_config;
pub mod subscription;
pub mod topics;

pub use rokka_broker::{
    consumer_groups, delay, filter, format, groups, pop, put, timer, timer_task, txn_index, Core,
    DELAY_PROGRESS_GROUP,
};

use std::ops::Deref;
use std::sync::Arc;

use prometheus::Registry;
use rokka_store::Store;
use tokio::sync::watch;

use crate::config::BrokerConfig;

/// Everything a front-end handler needs; cheap to clone. The protocol-neutral
/// state is the [`Core`] of the `rokka-broker` crate, which `Broker`
/// dereferences to (`broker.store`, `broker.pop`, …); what needs the process's
/// configuration, cluster mode or security is held here.
#[derive(Debug, Clone)]
pub struct Broker {
    /// The protocol-neutral core (ADR 023).
    pub core: Core,
    /// The resolved configuration.
    pub config: Arc<BrokerConfig>,
    /// Settings changed at run time (UPDATE_BROKER_CONFIG), persisted.
    pub dynamic: Arc<dynamic_config::DynamicConfig>,
    /// Cluster mode (issue 12, ADR 015), when configured.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// Credentials and ACLs (ADR 016).
    pub security: Arc<crate::security::Security>,
}

impl Deref for Broker {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.core
    }
}

impl Broker {
    /// Builds the broker; `shutdown` turns true when the process stops.
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
        let security = Arc::new(crate::security::Security::open(
            &config.security,
            &store.config().config_dir(),
        ));
        Broker {
            core: Core::new(store, registry, config.timer, shutdown),
            config,
            dynamic,
            cluster: None,
            security,
        }
    }

    /// The same broker in cluster mode.
    pub fn with_cluster(mut self, cluster: Arc<crate::cluster::Cluster>) -> Broker {
        self.cluster = Some(cluster);
        self
    }
}
