//! The protocol-neutral broker core that every front-end (RocketMQ remoting,
//! Kafka, gRPC) and the replication layer share (ADR 023): the one put path
//! (`put`, with delay levels in `delay` and timer messages in `timer` /
//! `timer_task`), POP consumption (`pop`), SQL92 selectors (`filter`), the
//! cross-protocol entry conversions (`format`), which ecosystem a consumer
//! group is live in (`groups`) and the Kafka transaction index (`txn_index`).
//!
//! It depends on the store and the sans-io protocol crate only. What needs
//! the process's configuration, cluster mode or security (topic
//! auto-creation, subscription groups, run-time config) stays in the binary's
//! `broker` module, whose `Broker` holds a [`Core`] and dereferences to it.

pub mod delay;
pub mod filter;
pub mod format;
pub mod groups;
pub mod pop;
pub mod put;
pub mod timer;
pub mod timer_task;
pub mod txn_index;

use std::sync::Arc;

use prometheus::Registry;
use rokka_store::Store;
use tokio::sync::watch;

pub use timer::TimerConfig;

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

/// The state the core's operations share; cheap to clone.
#[derive(Debug, Clone)]
pub struct Core {
    /// The shared store.
    pub store: Store,
    /// The registry `/metrics` serves.
    pub registry: Registry,
    /// Timer message settings (ADR 019).
    pub timer_config: TimerConfig,
    /// Live consumer-group members per ecosystem (ADR 006).
    pub groups: Arc<groups::GroupRegistry>,
    /// Kafka batches converted for RocketMQ readers, shared by all pulls.
    pub converted: Arc<format::cache::ConvertedBatches>,
    /// Open and aborted Kafka transactions per partition (ADR 014).
    pub txns: Arc<txn_index::TxnIndex>,
    /// Compiled SQL92 selectors per (group, topic).
    pub filters: Arc<filter::FilterCache>,
    /// POP consumption (ADR 020); `None` when its journal cannot be opened
    /// (logged at start; POP requests then fail with a clear error).
    pub pop: Option<Arc<pop::PopEngine>>,
    /// Undelivered timer messages (ADR 019).
    pub timers: Arc<timer::Timers>,
    shutdown: watch::Receiver<bool>,
}

impl Core {
    /// Opens the core's state over `store`; `shutdown` turns true when the
    /// process stops.
    pub fn new(
        store: Store,
        registry: Registry,
        timer_config: TimerConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Core {
        let converted: Arc<format::cache::ConvertedBatches> = Arc::default();
        let pop = pop::PopEngine::open(
            &store.config().config_dir().join("pop"),
            store.clone(),
            converted.clone(),
        )
        .inspect_err(|e| tracing::error!("POP journal cannot be opened, POP is off: {e}"))
        .ok()
        .map(Arc::new);
        let timers = Arc::new(timer_task::load(&store, &timer_config, &registry));
        Core {
            store,
            registry,
            timer_config,
            groups: Arc::default(),
            converted,
            txns: Arc::default(),
            filters: Arc::default(),
            pop,
            timers,
            shutdown,
        }
    }

    /// Resolves when the broker is shutting down (listeners stop accepting).
    pub async fn shutdown_signal(&self) {
        let mut rx = self.shutdown.clone();
        // An error means the sender is gone, which also means shutdown.
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// A topic's config, if it exists.
    pub fn topic(&self, name: &str) -> Option<rokka_store::topics::TopicConfig> {
        self.store.topics().get(name)
    }

    /// True once shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}
