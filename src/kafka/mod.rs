//! The Kafka front-end: accept loop, per-connection framing and ordered
//! replies, and one handler module per API, over the protocol-neutral core
//! in `broker/`.
//!
//! ```text
//! socket -> conn.rs (i32-size frames, writer task) -> dispatch.rs (header,
//!   version check) -> <api>.rs (decode, broker/store op, encode) -> store
//! ```
//! Store errors become Kafka error codes in one place, `errors.rs`.

mod acl_admin;
mod acls;
mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod alter_configs;
mod api_versions;
mod broker_config;
mod conn;
mod delete_groups;
mod delete_records;
mod describe_configs;
mod describe_log_dirs;
mod describe_producers;
mod describe_transactions;
mod dispatch;
mod end_txn;
mod errors;
mod fetch;
mod find_coordinator;
mod group;
mod idempotence;
mod init_producer_id;
mod list_offsets;
pub mod listener;
mod metadata;
mod metrics;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod offset_for_leader_epoch;
pub mod offsets_topic;
mod partition_admin;
mod produce;
mod replication;
mod request;
mod response_writer;
pub mod sasl;
mod scram_admin;
mod topic_config;
mod topic_retention;
mod topics_admin;
pub mod txn;
mod txn_offset_commit;

use std::net::SocketAddr;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::warn;

use crate::broker::Broker;
use crate::startup::StartupError;

pub use metrics::KafkaMetrics;

/// State shared by every Kafka connection.
#[derive(Debug)]
pub struct KafkaContext {
    /// The neutral core.
    pub broker: Broker,
    /// The classic group coordinator.
    pub groups: Arc<group::GroupCoordinator>,
    /// Metrics.
    pub metrics: KafkaMetrics,
    /// Next producer id handed out by InitProducerId.
    pub next_producer_id: Arc<AtomicI64>,
    /// The transaction coordinator (ADR 014).
    pub txn: Arc<txn::TxnCoordinator>,
    /// Idempotent producers' sequence numbers.
    pub sequences: idempotence::Sequences,
    /// Dynamic broker configs (AlterConfigs on the broker resource).
    pub broker_configs: broker_config::BrokerConfigs,
}

impl KafkaContext {
    /// Builds the context and registers the Kafka metrics; `next_pid` is
    /// shared with the transaction coordinator `txn`.
    pub fn new(
        broker: Broker,
        txn: Arc<txn::TxnCoordinator>,
        next_pid: Arc<AtomicI64>,
    ) -> prometheus::Result<KafkaContext> {
        let metrics = KafkaMetrics::register(&broker.registry)?;
        let groups = Arc::new(group::GroupCoordinator::new(Arc::clone(&broker.groups)));
        let broker_store = broker.store.clone();
        let broker_configs =
            broker_config::BrokerConfigs::open(&broker.store.config().config_dir());
        Ok(KafkaContext {
            broker_configs,
            broker,
            groups,
            metrics,
            next_producer_id: next_pid,
            txn,
            sequences: idempotence::Sequences::rebuild(&broker_store, idempotence::REBUILD_ENTRIES),
        })
    }

    /// This broker's Kafka node id: `node.id`, else `brokerId`.
    pub fn node_id(&self) -> i32 {
        let cfg = &self.broker.config;
        i32::try_from(cfg.node_id.unwrap_or(cfg.broker_id)).unwrap_or(0)
    }

    /// True unless cluster mode says another node is master: this node
    /// answers Fetch (and, if also unfenced, Produce) for every partition.
    pub fn leads(&self) -> bool {
        self.broker.cluster.as_ref().is_none_or(|c| c.is_master())
    }

    /// The stable cluster id reported in Metadata.
    pub fn cluster_id(&self) -> String {
        format!("rokka-{}", self.broker.config.broker_cluster_name)
    }
}

/// Binds the Kafka listeners (`listeners`; the first at `kafka_listen`) and
/// spawns their accept loops and the group coordinator's timer; all end when
/// the broker shuts down.
pub async fn start(broker: &Broker) -> Result<Vec<JoinHandle<()>>, StartupError> {
    let listeners = listener::bind_all(broker).await?;
    let (offsets_log, writer) = offsets_topic::start(broker)
        .await
        .map_err(StartupError::OffsetsTopic)?;
    // Producer ids are seeded from the clock so ids stay unique across
    // restarts (and above every persisted transactional producer id).
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_millis() as i64);
    let next_pid = Arc::new(AtomicI64::new(seed));
    let txn = txn::TxnCoordinator::open(broker, Arc::clone(&next_pid))
        .map_err(StartupError::TransactionState)?;
    txn.set_offsets_log(offsets_log.clone());
    let ctx = Arc::new(KafkaContext::new(broker.clone(), Arc::new(txn), next_pid)?);
    ctx.groups.set_offsets_log(offsets_log);
    let txn_timer = txn::start_timer(Arc::clone(&ctx.txn), broker.clone());
    if let Some(c) = &broker.cluster {
        // A new master rebuilds the producers' sequences from the log it
        // replicated, so a batch retried across a failover is not stored twice.
        let ctx = Arc::clone(&ctx);
        c.on_promote(Box::new(move || {
            let fresh =
                idempotence::Sequences::rebuild(&ctx.broker.store, idempotence::REBUILD_ENTRIES);
            ctx.sequences.replace(fresh);
            // ... and the transaction coordinator its state and the
            // partitions' transaction index (ADR 014).
            ctx.txn.reload();
            // ... and the group coordinator the groups recorded in
            // `__consumer_offsets`, so the members of a group whose
            // coordinator moved here go on without a rebalance.
            let groups = offsets_topic::recovery::latest_groups(&ctx.broker.store);
            let stable = ctx.groups.restore(groups);
            tracing::info!(stable, "consumer groups loaded on promotion");
        }));
    }
    if broker.cluster.is_none() {
        // A restarted single broker is the coordinator of every group: it
        // loads them as a promoted master does, so a stable group's members
        // heartbeat on after the restart instead of rejoining.
        let groups = offsets_topic::recovery::latest_groups(&broker.store);
        let stable = ctx.groups.restore(groups);
        tracing::info!(stable, "consumer groups loaded");
    }
    let timer = tokio::spawn(group::run_timer(Arc::clone(&ctx.groups), broker.clone()));
    let retention = tokio::spawn(topic_retention::run_timer(
        Arc::clone(&ctx),
        broker.config.retention_check_interval,
    ));
    let mut tasks = vec![timer, retention, writer, txn_timer];
    for (socket, spec) in listeners {
        tasks.push(tokio::spawn(run(socket, spec, Arc::clone(&ctx))));
    }
    Ok(tasks)
}

/// Accepts connections until shutdown; one task per connection, which first
/// runs the listener's TLS step (ADR 016).
pub async fn run(listener: TcpListener, spec: Arc<listener::Listener>, ctx: Arc<KafkaContext>) {
    let admission = crate::net::admission::Admission::new(spec.label, ctx.broker.config.net.kafka);
    let shutdown = ctx.broker.clone();
    let accept = async {
        loop {
            let (socket, peer): (_, SocketAddr) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    warn!(error = %e, "kafka accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Over a cap: closed at once (dropping the socket), counted and logged.
            let Ok(permit) = admission.admit(peer) else {
                continue;
            };
            let (ctx, spec) = (Arc::clone(&ctx), Arc::clone(&spec));
            tokio::spawn(async move {
                let limits = ctx.broker.config.net.kafka;
                // Counted (and logged) as open from the accept, TLS step included.
                ctx.metrics.connections_total.inc();
                let open = crate::metrics::traffic().connection(spec.label, peer);
                match spec.tls.accept(socket, peer, limits.frame_read).await {
                    Some(stream) => conn::serve(ctx, stream, peer, spec, open).await,
                    // Refused or closed before a byte: the TLS step counted and logged why.
                    None => drop(open),
                }
                drop(permit);
            });
        }
    };
    tokio::select! {
        () = accept => {}
        () = shutdown.shutdown_signal() => {}
    }
}
