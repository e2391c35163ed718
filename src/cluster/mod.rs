//! Cluster mode (issue 12, ADR 015): wires the control plane (`rokka-cluster`,
//! ADR 012) and the CommitLog replication service (`ha/`, ADR 013) into the
//! broker process.
//!
//! ```text
//! mod.rs     Cluster: start, accessors the front-ends use (role, master, ISR, acks)
//! follow.rs  the follow loop: view -> HA role, store writable or not, fencing
//! isr.rs     the master's in-sync set tracking (AlterSyncStateSet proposals)
//! offset_forward.rs  consumer offsets sent to / asked of other nodes' masters
//! ranges.rs  a topic's queue ranges over groups: Kafka partition <-> local queue, add-queues, drain
//! topics.rs  topic configs through the Raft state (master pushes, others adopt)
//! status.rs  GET /cluster JSON and the role / lag metrics
//! ```
//!
//! Without `controller.quorum.voters` none of this runs and rokka is the
//! single node it always was.

mod follow;
mod isr;
pub mod offset_forward;
mod ranges;
mod status;
mod topics;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::Registry;
use rokka_cluster::{ClusterConfig, ClusterNode, ClusterView, NodeAddrs, NodeId, NodeInfo};
use rokka_store::topics::TopicConfig;
use rokka_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

use crate::config::{BrokerConfig, BrokerRole, ClusterSettings};
use crate::ha::Ha;
use crate::startup::StartupError;

pub use follow::Target;
pub use ranges::{config_for, Layout, Route};
pub(crate) use topics::OFFSETS_TOPIC;

/// What this node currently acts as in its broker group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// No master known yet (or its address is unknown): read-only.
    None,
    /// Master of term `epoch`; `fenced` while cut off from the Raft majority
    /// (read-only until contact returns).
    Master {
        /// The term.
        epoch: u64,
        /// No majority contact for longer than the master timeout.
        fenced: bool,
    },
    /// Slave following `master` in term `epoch`: read-only.
    Slave {
        /// The term.
        epoch: u64,
        /// The master's node id.
        master: NodeId,
    },
}

/// Work run on promotion before the store takes writes (e.g. rebuilding the
/// idempotent producers' table from the replicated log). Runs on a blocking
/// thread.
pub type PromoteHook = Box<dyn Fn() + Send + Sync>;

/// The running cluster member of this process.
pub struct Cluster {
    node: ClusterNode,
    ha: Ha,
    group: String,
    node_id: NodeId,
    min_isr: usize,
    sync_master: bool,
    ack_timeout: Duration,
    master_timeout: Duration,
    lag_max: Duration,
    /// `defaultTopicQueueNums`: queues of a topic re-created from its data.
    default_queues: u32,
    local: watch::Sender<Local>,
    /// Members this master proposed to add to the in-sync set whose change
    /// is not applied here yet: acks already wait for them.
    isr_joining: Mutex<BTreeSet<NodeId>>,
    /// The high watermark readers saw in a master term: (epoch, offset).
    hw: Mutex<(u64, u64)>,
    hooks: Mutex<Vec<Arc<PromoteHook>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    metrics: status::Metrics,
    /// Consumer offsets waiting for another node's master.
    offset_forward: offset_forward::OffsetForward,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node_id", &self.node_id)
            .field("group", &self.group)
            .field("local", &*self.local.borrow())
            .finish_non_exhaustive()
    }
}

/// The addresses this node advertises, from the configuration (cluster mode
/// needs fixed ports: peers and clients dial them) and the bound HTTP and
/// gRPC listeners.
fn advertised_addrs(
    config: &BrokerConfig,
    s: &ClusterSettings,
    http: SocketAddr,
    grpc: SocketAddr,
) -> Result<NodeAddrs, String> {
    let host = config.store.store_host.ip();
    for (what, port) in [
        ("listenPort", config.broker_listen.port()),
        ("Kafka port", config.kafka_listen.port()),
        ("haListenPort", config.ha_listen.port()),
    ] {
        if port == 0 {
            return Err(format!("cluster mode needs a fixed {what}, not 0"));
        }
    }
    let kafka = match &config.kafka_advertised {
        Some(a) => join_host(&a.host, a.port),
        None if config.kafka_listen.ip().is_unspecified() => {
            SocketAddr::new(host, config.kafka_listen.port()).to_string()
        }
        None => config.kafka_listen.to_string(),
    };
    Ok(NodeAddrs {
        kafka,
        remoting: config.store.store_host.to_string(),
        ha: SocketAddr::new(host, config.ha_listen.port()).to_string(),
        http: SocketAddr::new(host, http.port()).to_string(),
        raft: s.listen.clone(),
        grpc: SocketAddr::new(host, grpc.port()).to_string(),
    })
}

fn join_host(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl Cluster {
    /// Starts this node's cluster member: the store turns read-only until the
    /// follow loop ([`Cluster::run`]) learns its role; binds the HA listener,
    /// starts Raft (state in `<data dir>/raft/`) and registers the node with
    /// its addresses (`http` and `grpc`: the bound listeners).
    pub async fn start(
        config: &BrokerConfig,
        settings: &ClusterSettings,
        store: Store,
        registry: &Registry,
        (http, grpc): (SocketAddr, SocketAddr),
    ) -> Result<Arc<Cluster>, StartupError> {
        store.set_read_only(true);
        let addrs =
            advertised_addrs(config, settings, http, grpc).map_err(StartupError::Cluster)?;
        let ha = Ha::new(store.clone(), registry);
        ha.set_node_id(settings.node_id);
        let ha_listener = crate::startup::bind("ha", config.ha_listen).await?;
        info!("ha listening on {}", config.ha_listen);
        let mut cc = ClusterConfig::new(
            settings.node_id,
            settings.voters.clone(),
            config.data_dir().join("raft"),
        );
        cc.listen = settings.listen.clone();
        cc.addrs = addrs;
        cc.group = Some(config.broker_name.clone());
        cc.master_timeout = settings.master_timeout;
        cc.min_insync_replicas = config.min_insync_replicas.max(1) as usize;
        let node = ClusterNode::start(cc)
            .await
            .map_err(|e| StartupError::Cluster(e.to_string()))?;
        node.register_metrics(registry)
            .map_err(|e| StartupError::Cluster(e.to_string()))?;
        info!(node = settings.node_id, listen = %settings.listen, "cluster listening on {}", settings.listen);
        let metrics = status::Metrics::register(registry, &config.broker_name)?;
        let offset_forward = offset_forward::OffsetForward::register(registry)
            .map_err(|e| StartupError::Cluster(e.to_string()))?;
        let serve = {
            let ha = ha.clone();
            tokio::spawn(async move {
                if let Err(e) = ha.serve(ha_listener).await {
                    tracing::error!(error = %e, "HA listener failed");
                }
            })
        };
        Ok(Arc::new(Cluster {
            node,
            ha,
            group: config.broker_name.clone(),
            node_id: settings.node_id,
            min_isr: config.min_insync_replicas.max(1) as usize,
            sync_master: config.broker_role == BrokerRole::SyncMaster,
            ack_timeout: config.replica_ack_timeout,
            master_timeout: settings.master_timeout,
            lag_max: settings.replica_lag_time_max,
            default_queues: config.default_topic_queue_nums,
            local: watch::channel(Local::None).0,
            isr_joining: Mutex::new(BTreeSet::new()),
            hw: Mutex::new((0, 0)),
            hooks: Mutex::new(Vec::new()),
            tasks: Mutex::new(vec![serve]),
            metrics,
            offset_forward,
        }))
    }

    /// Starts following the view (roles, in-sync set, topic configs). Called
    /// once the front-ends are up and their promotion hooks registered.
    pub fn run(self: &Arc<Self>) {
        let tasks = vec![
            tokio::spawn(follow::run(self.clone())),
            tokio::spawn(isr::run(self.clone())),
            tokio::spawn(topics::run(self.clone())),
            tokio::spawn(offset_forward::run(self.clone())),
        ];
        lock(&self.tasks).extend(tasks);
    }

    /// Stops the loops and the Raft member.
    pub async fn shutdown(&self) {
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
        if let Err(e) = self.node.shutdown().await {
            tracing::warn!(error = %e, "cluster shutdown");
        }
    }

    /// Registers work to run on each promotion to master, before writes.
    pub fn on_promote(&self, hook: PromoteHook) {
        lock(&self.hooks).push(Arc::new(hook));
    }

    /// This node's id (`node.id`).
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// The broker group (`brokerName`).
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The latest cluster view.
    pub fn view(&self) -> ClusterView {
        self.node.view()
    }

    /// What this node acts as.
    pub fn local(&self) -> Local {
        *self.local.borrow()
    }

    /// A receiver of role changes.
    pub fn subscribe(&self) -> watch::Receiver<Local> {
        self.local.subscribe()
    }

    /// True while this node is master, fenced or not (it serves reads up
    /// to the high watermark).
    pub fn is_master(&self) -> bool {
        matches!(self.local(), Local::Master { .. })
    }

    /// True while this node is an unfenced master (takes writes).
    pub fn is_writable_master(&self) -> bool {
        matches!(self.local(), Local::Master { fenced: false, .. })
    }

    /// The registered nodes of this node's group, by id.
    pub fn members(&self, view: &ClusterView) -> Vec<NodeInfo> {
        Cluster::members_of(view, &self.group)
    }

    /// The group's master for an error message: "node N at <address>"
    /// (`addr` picks the front-end's address), or "none elected yet".
    pub fn master_label(&self, addr: impl Fn(&NodeAddrs) -> &str) -> String {
        let view = self.view();
        self.master(&view).map_or_else(
            || "none elected yet".to_owned(),
            |(m, _)| format!("node {} at {}", m.id, addr(&m.addrs)),
        )
    }

    /// The group's master (its registration) and epoch, if one is elected.
    pub fn master(&self, view: &ClusterView) -> Option<(NodeInfo, u64)> {
        let (m, epoch) = view.master_of(&self.group)?;
        Some((view.state.nodes.get(&m)?.clone(), epoch))
    }

    /// The group a topic's home range (queue 0) is placed on, `None` when
    /// it is not placed (every group holds it, as before placement existed).
    pub fn owner(view: &ClusterView, topic: &str) -> Option<String> {
        view.state.placed_on(topic, 0).map(str::to_string)
    }

    /// True when `group` holds some queue of `topic` in `state` (or the
    /// topic is not placed, so every group holds it).
    pub(crate) fn holds(state: &rokka_cluster::ClusterState, topic: &str, group: &str) -> bool {
        state
            .placement
            .get(topic)
            .is_none_or(|p| p.values().any(|g| g == group))
    }

    /// True when this node's group holds `topic` (a range of it placed
    /// here, or not placed).
    pub fn serves(&self, topic: &str) -> bool {
        self.node
            .with_view(|v| Cluster::holds(&v.state, topic, &self.group))
    }

    /// The config and home group of a topic placed wholly on other groups
    /// (this node holds none of its queues; clients are sent elsewhere).
    pub fn remote_topic(&self, topic: &str) -> Option<(TopicConfig, String)> {
        let view = self.view();
        if Cluster::holds(&view.state, topic, &self.group) {
            return None;
        }
        let group = Cluster::owner(&view, topic)?;
        Some((topics::decode(view.state.topics.get(topic)?)?, group))
    }

    /// Every topic placed on another group, with its group.
    pub fn remote_topics(&self) -> Vec<(TopicConfig, String)> {
        let view = self.view();
        view.state
            .topics
            .iter()
            .filter(|(name, _)| !Cluster::holds(&view.state, name, &self.group))
            .filter_map(|(name, entry)| {
                let group = Cluster::owner(&view, name)?;
                Some((topics::decode(entry)?, group))
            })
            .collect()
    }

    /// The broker group whose master coordinates the Kafka group (or
    /// transactional) id `key`: the group `__consumer_offsets` partition
    /// `partition` (`abs(hashCode(key)) % partitions`) is placed on. A
    /// single-group cluster without that placement: this group, as before;
    /// several groups before the placement is applied: `None` (not
    /// available yet).
    pub fn coordinator_group(&self, partition: u32) -> Option<String> {
        self.node
            .with_view(|v| coordinator_group(v, &self.group, partition))
    }

    /// The registered nodes of `group`, by id.
    pub fn members_of(view: &ClusterView, group: &str) -> Vec<NodeInfo> {
        let Some(g) = view.group(group) else {
            return Vec::new();
        };
        g.members
            .iter()
            .filter_map(|id| view.state.nodes.get(id).cloned())
            .collect()
    }

    /// `min.insync.replicas`, master included.
    pub fn min_insync_replicas(&self) -> usize {
        self.min_isr
    }

    /// True when the in-sync set is at least `min.insync.replicas` large.
    pub fn enough_in_sync(&self) -> bool {
        self.node
            .with_view(|v| v.isr_of(&self.group).len() >= self.min_isr)
    }

    /// Whether RocketMQ sends wait for replicas (`brokerRole=SYNC_MASTER`).
    pub fn sync_master(&self) -> bool {
        self.sync_master
    }

    /// Waits until every member of the in-sync set holds the log up to
    /// `end` (Kafka's acks=all rule, ADR 015): the set is the applied Raft
    /// state's plus members this master is adding, and it must be at least
    /// `min.insync.replicas` large. A lagging slave stops the wait only once
    /// Raft removed it. At most `timeout`, or `rokka.replicaAckTimeoutMs`
    /// when `None`.
    pub async fn wait_replicated(&self, end: u64, timeout: Option<Duration>) -> bool {
        self.wait_acked(end, timeout, self.min_isr).await
    }

    /// Waits until every member of the in-sync set holds the log up to
    /// `end`, however small the set: what a master elected from it next
    /// must serve (the group coordinator's records, ADR 015). Unlike
    /// [`Cluster::wait_replicated`] it does not refuse a set smaller than
    /// `min.insync.replicas`, so a broker group down to its master (or of
    /// one node) keeps committing offsets as RocketMQ's brokers do. At most
    /// `rokka.replicaAckTimeoutMs`.
    pub async fn wait_in_sync(&self, end: u64) -> bool {
        self.wait_acked(end, None, 1).await
    }

    async fn wait_acked(&self, end: u64, timeout: Option<Duration>, min_isr: usize) -> bool {
        let timeout = timeout.map_or(self.ack_timeout, |t| t.min(self.ack_timeout));
        let deadline = tokio::time::Instant::now() + timeout;
        let mut views = self.node.subscribe();
        let mut roles = self.local.subscribe();
        // The term the bytes were appended in: acks of another term say
        // nothing about them (a new master may not hold them).
        let Local::Master { epoch, .. } = *roles.borrow_and_update() else {
            return false;
        };
        loop {
            let ack = self.ha.next_ack();
            tokio::pin!(ack);
            ack.as_mut().enable();
            views.borrow_and_update();
            if !matches!(*roles.borrow_and_update(), Local::Master { epoch: e, .. } if e == epoch) {
                return false;
            }
            if self.replicated(end, min_isr) {
                self.high_watermark(); // records the advance for readers
                return true;
            }
            tokio::select! {
                _ = ack => {}
                r = views.changed() => if r.is_err() { return false },
                _ = roles.changed() => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return matches!(self.local(), Local::Master { epoch: e, .. } if e == epoch)
                        && self.replicated(end, min_isr);
                }
            }
        }
    }

    /// The high watermark (ADR 015): the CommitLog offset every in-sync
    /// member holds; the master's own end while it is alone in the set.
    /// Readers on the master see only entries below it. It never goes back
    /// within a master term.
    pub fn high_watermark(&self) -> u64 {
        // A slave serves what it holds (RocketMQ slave reads while the
        // master is down; Kafka reads on a slave are refused anyway): it has
        // no replica acks, so the in-sync rule would give 0 and a pull would
        // wait for an ack that never comes.
        if !self.is_master() {
            return self.store().log_end();
        }
        let now = isr::high_watermark(
            &self.acking_set(),
            self.node_id,
            &self.ha.acked_by_node(),
            self.store().log_end(),
        );
        // Monotonic within a master term: a slave that disconnects (and
        // still counts as in sync) does not take back what readers saw.
        let Local::Master { epoch, .. } = self.local() else {
            return now;
        };
        let mut last = lock(&self.hw);
        if last.0 != epoch || last.1 < now {
            *last = (epoch, now);
        }
        last.1
    }

    /// The highest high watermark readers were given in master term
    /// `epoch` (0 before any).
    fn readers_high_watermark(&self, epoch: u64) -> u64 {
        let last = lock(&self.hw);
        if last.0 == epoch {
            last.1
        } else {
            0
        }
    }

    /// Waits for the next replica ack (the high watermark may have moved),
    /// at most `timeout`.
    pub async fn wait_ack(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.ha.next_ack()).await;
    }

    /// A node that is not master serves RocketMQ slave reads only once its
    /// log agrees with a master's ([`Ha::log_agrees`]): a restarted or
    /// demoted old master may still hold a tail no master has.
    pub fn serves_replica_reads(&self) -> bool {
        self.ha.log_agrees()
    }

    /// Waits until [`Cluster::serves_replica_reads`] or `timeout` passed.
    pub async fn wait_replica_reads(&self, timeout: Duration) {
        self.ha.wait_log_agrees(timeout).await;
    }

    /// The applied in-sync set plus the members this master is adding.
    fn acking_set(&self) -> BTreeSet<NodeId> {
        let mut isr = self.view().isr_of(&self.group);
        isr.extend(lock(&self.isr_joining).iter().copied());
        isr
    }

    /// True when the in-sync set has at least `min_isr` members and every
    /// one holds the log up to `end`.
    fn replicated(&self, end: u64, min_isr: usize) -> bool {
        isr::acknowledged(
            &self.acking_set(),
            self.node_id,
            min_isr,
            &self.ha.acked_by_node(),
            end,
        )
    }

    /// Proposes a topic another member auto-created on first use (only the
    /// master writes the topic table; it adopts what the state has). Nothing
    /// happens when the state already has the topic.
    pub fn request_topic(self: &Arc<Self>, cfg: TopicConfig) {
        if self.view().state.topics.contains_key(&cfg.topic_name) {
            return;
        }
        // Placed on this node's group first: the group's master adopts it,
        // the other groups' do not.
        let place = topics::placement(&cfg, &self.group);
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let c = self.clone();
        rt.spawn(async move {
            let name = cfg.topic_name.clone();
            if let Some(cmd) = place {
                if let Err(e) = c.node.propose(cmd).await {
                    tracing::debug!(topic = %name, error = %e, "topic placement not committed");
                    return;
                }
            }
            if let Err(e) = c.node.propose(topics::put(&cfg)).await {
                tracing::debug!(topic = %name, error = %e, "topic proposal not committed");
            }
        });
    }

    /// `rokka admin cluster add-node ID@HOST:PORT` (`POST /cluster/add-node/…`):
    /// makes a node that joined as a learner (or is not known yet) a Raft
    /// voter. The node itself starts with `rokka.clusterListen` and this
    /// group's `brokerName`, registers, and replicates the group as a slave.
    pub async fn add_node(&self, spec: &str) -> Result<(), String> {
        let (id, addr) = spec
            .split_once('@')
            .and_then(|(id, addr)| Some((id.parse::<NodeId>().ok()?, addr)))
            .filter(|(_, addr)| addr.contains(':'))
            .ok_or_else(|| {
                format!("expected ID@HOST:PORT (the node's cluster address), got {spec:?}")
            })?;
        self.node
            .add_voter(id, addr.to_string())
            .await
            .map_err(|e| e.to_string())?;
        info!("cluster: node {id} ({addr}) is a Raft voter");
        Ok(())
    }

    /// `rokka admin cluster remove-node ID` (`POST /cluster/remove-node/ID`):
    /// drops a node from its group and from the Raft membership; refused
    /// while it is the master.
    pub async fn remove_node(&self, id: &str) -> Result<(), String> {
        let id: NodeId = id
            .parse()
            .map_err(|_| format!("expected a node id, got {id:?}"))?;
        self.node.remove_node(id).await.map_err(|e| e.to_string())?;
        info!("cluster: node {id} removed from the cluster");
        Ok(())
    }

    /// The JSON of `GET /cluster`.
    pub fn status_json(&self) -> serde_json::Value {
        status::json(self)
    }

    pub(crate) fn store(&self) -> &Store {
        self.ha.store()
    }
}

/// [`Cluster::coordinator_group`] of a view, for this node's group `mine`.
pub(crate) fn coordinator_group(view: &ClusterView, mine: &str, partition: u32) -> Option<String> {
    match view.state.placed_on(topics::OFFSETS_TOPIC, partition) {
        Some(g) => Some(g.to_string()),
        None if view.state.placement.contains_key(topics::OFFSETS_TOPIC) => None,
        None if view.state.groups.len() <= 1 => Some(mine.to_string()),
        None => None,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
