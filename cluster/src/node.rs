//! [`ClusterNode`]: one running member of the cluster (Raft, RPC server, controller).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use openraft::error::{ClientWriteError, InitializeError, RaftError};
use openraft::{BasicNode, ChangeMembers, Raft, ServerState};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

use crate::controller::{decide, Heartbeat, Policy, SoftState};
use crate::metrics::Metrics;
use crate::raft::{
    read_frame, write_frame, CallError, NetworkFactory, Peer, Reply, Rpc, TypeConfig,
};
use crate::state::{ClusterState, Command, CommandError, CommandResult, NodeId, NodeInfo};
use crate::storage::FileStore;
use crate::{ClusterConfig, ClusterError, ClusterView};

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("node_id", &self.config.node_id)
            .finish_non_exhaustive()
    }
}

/// How long a proposal may wait for the leader to commit it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a membership change (a learner catching up with the Raft log,
/// then a joint consensus round) may take.
const MEMBERSHIP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the leader's controller looks for dead masters.
const CONTROLLER_TICK: Duration = Duration::from_millis(100);

struct Shared {
    config: ClusterConfig,
    raft: Raft<TypeConfig>,
    soft: StdMutex<SoftState>,
    offset: AtomicU64,
    view_rx: watch::Receiver<ClusterView>,
    metrics: Metrics,
    /// When this node last knew it was in contact with the Raft majority.
    contact: StdMutex<Option<Instant>>,
}

/// One running cluster member. Dropping it without [`ClusterNode::shutdown`] aborts its
/// tasks but does not wait for Raft to stop.
#[derive(Debug)]
pub struct ClusterNode {
    shared: Arc<Shared>,
    tasks: StdMutex<Vec<JoinHandle<()>>>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl ClusterNode {
    /// Opens the Raft storage in `config.data_dir`, binds `config.listen`, starts Raft (and
    /// forms the cluster from `config.voters` on first start), then registers this node and
    /// starts its heartbeat and controller tasks. Must be called inside a tokio runtime.
    pub async fn start(config: ClusterConfig) -> Result<ClusterNode, ClusterError> {
        if config.master_timeout.is_zero() || config.heartbeat_interval.is_zero() {
            return Err(ClusterError::Config("timeouts must be positive".into()));
        }
        let store = FileStore::open(&config.data_dir)?;
        let state_rx = store.subscribe();
        let (log_store, sm) = openraft::storage::Adaptor::new(store);
        let election = config.raft_election_timeout.as_millis() as u64;
        let raft_config = openraft::Config {
            cluster_name: "rokka".into(),
            heartbeat_interval: config.raft_heartbeat.as_millis() as u64,
            election_timeout_min: election,
            election_timeout_max: election * 2,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(1000),
            max_in_snapshot_log_to_keep: 100,
            ..Default::default()
        }
        .validate()
        .map_err(|e| ClusterError::Config(e.to_string()))?;
        let listener = TcpListener::bind(&config.listen).await?;
        let raft = Raft::new(
            config.node_id,
            Arc::new(raft_config),
            NetworkFactory,
            log_store,
            sm,
        )
        .await
        .map_err(|e| ClusterError::Raft(e.to_string()))?;

        let initial = ClusterView {
            node_id: config.node_id,
            ..Default::default()
        };
        let (view_tx, view_rx) = watch::channel(initial);
        let shared = Arc::new(Shared {
            config,
            raft,
            soft: StdMutex::new(SoftState::default()),
            offset: AtomicU64::new(0),
            view_rx,
            metrics: Metrics::new(),
            contact: StdMutex::new(None),
        });
        let node = ClusterNode {
            shared: shared.clone(),
            tasks: StdMutex::new(Vec::new()),
            conns: Arc::new(Mutex::new(Vec::new())),
        };
        let mut tasks = vec![
            tokio::spawn(serve(shared.clone(), listener, node.conns.clone())),
            tokio::spawn(publish_views(shared.clone(), state_rx, view_tx)),
        ];

        let cfg = &shared.config;
        if cfg.voters.contains_key(&cfg.node_id) {
            let members: BTreeMap<NodeId, BasicNode> = cfg
                .voters
                .iter()
                .map(|(id, a)| (*id, BasicNode::new(a)))
                .collect();
            match shared.raft.initialize(members).await {
                Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
                Err(e) => return Err(ClusterError::Raft(e.to_string())),
            }
        } else {
            tasks.push(tokio::spawn(join_as_learner(shared.clone())));
        }
        tasks.push(tokio::spawn(register_self(shared.clone())));
        tasks.push(tokio::spawn(heartbeat_loop(shared.clone())));
        tasks.push(tokio::spawn(controller_loop(shared.clone())));
        *node.tasks.lock().unwrap_or_else(|e| e.into_inner()) = tasks;
        Ok(node)
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.shared.config.node_id
    }

    /// The current view (latest applied state, leader and term).
    pub fn view(&self) -> ClusterView {
        self.shared.view_rx.borrow().clone()
    }

    /// Reads the current view in place, without cloning the state (for the
    /// per-request checks of the front-ends). `f` must not block.
    pub fn with_view<R>(&self, f: impl FnOnce(&ClusterView) -> R) -> R {
        f(&self.shared.view_rx.borrow())
    }

    /// A receiver that sees every new view.
    pub fn subscribe(&self) -> watch::Receiver<ClusterView> {
        self.shared.view_rx.clone()
    }

    /// Whether this node is the Raft leader (and so runs the controller).
    pub fn is_leader(&self) -> bool {
        self.shared.raft.metrics().borrow().state == ServerState::Leader
    }

    /// How long ago this node last confirmed contact with the Raft majority:
    /// a follower when the leader accepted its heartbeat, the leader when a
    /// quorum confirmed its leadership (both checked every heartbeat
    /// interval). `None` before the first contact. A master whose contact is
    /// older than the master timeout must stop acknowledging writes: the
    /// majority may already have elected another (ADR 015).
    pub fn majority_contact_age(&self) -> Option<Duration> {
        self.shared
            .contact
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|at| at.elapsed())
    }

    /// Sets the CommitLog max offset that this node's automatic heartbeats report.
    pub fn set_commitlog_max_offset(&self, offset: u64) {
        self.shared.offset.store(offset, Ordering::Relaxed);
    }

    /// Sends one heartbeat to the Raft leader now (recorded locally when this node leads).
    /// The node already sends one every `heartbeat_interval` for itself when it has a
    /// group; this is for an explicit report (e.g. right after a role change).
    pub async fn report_heartbeat(&self, hb: Heartbeat) -> Result<(), ClusterError> {
        send_heartbeat(&self.shared, hb).await
    }

    /// Proposes a new in-sync set for `group` at `epoch` (the master's call when a slave
    /// falls behind or catches up). Refused if `epoch` is not current or `isr` lacks the
    /// master.
    pub async fn propose_sync_state_set(
        &self,
        group: &str,
        epoch: u64,
        isr: impl IntoIterator<Item = NodeId>,
    ) -> Result<(), ClusterError> {
        let isr = isr.into_iter().collect();
        self.propose(Command::AlterSyncStateSet {
            group: group.to_string(),
            epoch,
            isr,
        })
        .await
    }

    /// Proposes any command through the Raft leader and waits until it is committed and
    /// applied (or refused).
    pub async fn propose(&self, cmd: Command) -> Result<(), ClusterError> {
        propose(&self.shared, cmd)
            .await?
            .map_err(ClusterError::Refused)
    }

    /// Makes node `id` (cluster address `addr`) a Raft voter: the leader adds
    /// it as a learner if it is not one yet, waits until it has the Raft log,
    /// then changes the membership (`rokka admin cluster add-node`). A node
    /// already voting is left as it is.
    pub async fn add_voter(&self, id: NodeId, addr: String) -> Result<(), ClusterError> {
        membership_change(&self.shared, Rpc::AddVoter { id, addr }).await
    }

    /// Removes node `id` from the replicated state (its group's members and
    /// in-sync set; refused while it is the master) and then from the Raft
    /// membership (`rokka admin cluster remove-node`).
    pub async fn remove_node(&self, id: NodeId) -> Result<(), ClusterError> {
        membership_change(&self.shared, Rpc::RemoveNode { id }).await
    }

    /// The Raft voters and learners as this node knows them.
    pub fn raft_membership(&self) -> (BTreeSet<NodeId>, BTreeSet<NodeId>) {
        let m = self
            .shared
            .raft
            .metrics()
            .borrow()
            .membership_config
            .clone();
        let m = m.membership();
        (m.voter_ids().collect(), m.learner_ids().collect())
    }

    /// Registers the cluster metrics (Raft term, leader id, failovers, per-group epoch and
    /// in-sync set size) into `registry`.
    pub fn register_metrics(&self, registry: &prometheus::Registry) -> Result<(), ClusterError> {
        self.shared.metrics.register(registry)?;
        Ok(())
    }

    /// Stops Raft, the RPC server and every task; the listening port is closed on return.
    pub async fn shutdown(&self) -> Result<(), ClusterError> {
        self.abort_tasks();
        for c in self.conns.lock().await.drain(..) {
            c.abort();
        }
        self.shared
            .raft
            .shutdown()
            .await
            .map_err(|e| ClusterError::Raft(e.to_string()))
    }

    fn abort_tasks(&self) {
        for t in self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            t.abort();
        }
    }
}

impl Drop for ClusterNode {
    fn drop(&mut self) {
        self.abort_tasks();
        if let Ok(mut conns) = self.conns.try_lock() {
            conns.drain(..).for_each(|c| c.abort());
        }
    }
}

/// The leader's id and cluster address, from this node's Raft metrics.
fn leader_addr(shared: &Shared) -> Option<(NodeId, String)> {
    let m = shared.raft.metrics().borrow().clone();
    let leader = m.current_leader?;
    let addr = m
        .membership_config
        .membership()
        .get_node(&leader)?
        .addr
        .clone();
    Some((leader, addr))
}

/// Sends `rpc` to the current leader; `Ok(None)` when this node is the leader.
async fn to_leader(shared: &Shared, rpc: &Rpc) -> Result<Option<Reply>, ClusterError> {
    to_leader_within(shared, rpc, WRITE_TIMEOUT).await
}

async fn to_leader_within(
    shared: &Shared,
    rpc: &Rpc,
    timeout: Duration,
) -> Result<Option<Reply>, ClusterError> {
    let (leader, addr) =
        leader_addr(shared).ok_or_else(|| ClusterError::NoLeader("none known".into()))?;
    if leader == shared.config.node_id {
        return Ok(None);
    }
    match Peer::new(addr).call(rpc, timeout).await {
        Ok(r) => Ok(Some(r)),
        Err(CallError::Connect(e) | CallError::Io(e)) => {
            Err(ClusterError::NoLeader(format!("leader {leader}: {e}")))
        }
    }
}

async fn local_write(shared: &Shared, cmd: Command) -> Result<CommandResult, String> {
    match tokio::time::timeout(WRITE_TIMEOUT, shared.raft.client_write(cmd)).await {
        Ok(Ok(resp)) => Ok(resp.data),
        Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
            Err(format!("not the leader (leader: {:?})", f.leader_id))
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("not committed in time".into()),
    }
}

async fn propose(shared: &Shared, cmd: Command) -> Result<CommandResult, ClusterError> {
    let rpc = Rpc::Write(cmd);
    match to_leader(shared, &rpc).await? {
        None => {
            let Rpc::Write(cmd) = rpc else {
                unreachable!("built above")
            };
            local_write(shared, cmd)
                .await
                .map_err(ClusterError::NoLeader)
        }
        Some(Reply::Write(r)) => r.map_err(ClusterError::NoLeader),
        Some(_) => Err(ClusterError::NoLeader("unexpected reply".into())),
    }
}

/// Runs an operator's membership change ([`Rpc::AddVoter`], [`Rpc::RemoveNode`])
/// on the leader.
async fn membership_change(shared: &Shared, rpc: Rpc) -> Result<(), ClusterError> {
    let r = match to_leader_within(shared, &rpc, MEMBERSHIP_TIMEOUT).await? {
        None => on_leader(shared, rpc).await,
        Some(Reply::Write(r)) => r,
        Some(_) => Err("unexpected reply".into()),
    };
    r.map_err(ClusterError::NoLeader)?
        .map_err(ClusterError::Refused)
}

/// The leader's side of a membership change.
async fn on_leader(shared: &Shared, rpc: Rpc) -> Result<CommandResult, String> {
    let work = async {
        let membership = shared.raft.metrics().borrow().membership_config.clone();
        let membership = membership.membership();
        let voter = |id: NodeId| membership.voter_ids().any(|v| v == id);
        let change = match rpc {
            Rpc::AddVoter { id, .. } if voter(id) => return Ok(Ok(())),
            Rpc::AddVoter { id, addr } => {
                if membership.get_node(&id).is_none() {
                    // Blocking: returns once the learner has the Raft log.
                    shared
                        .raft
                        .add_learner(id, BasicNode::new(addr), true)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                ChangeMembers::AddVoterIds(BTreeSet::from([id]))
            }
            Rpc::RemoveNode { id } => {
                match local_write(shared, Command::RemoveNode { node: id }).await? {
                    Ok(()) | Err(CommandError::UnknownNode(_)) => {}
                    Err(e) => return Ok(Err(e)),
                }
                if voter(id) {
                    ChangeMembers::RemoveVoters(BTreeSet::from([id]))
                } else if membership.get_node(&id).is_some() {
                    ChangeMembers::RemoveNodes(BTreeSet::from([id]))
                } else {
                    return Ok(Ok(()));
                }
            }
            _ => return Err("not a membership change".to_string()),
        };
        // retain = false: a removed voter does not stay as a learner.
        shared
            .raft
            .change_membership(change, false)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Ok(()))
    };
    match tokio::time::timeout(MEMBERSHIP_TIMEOUT, work).await {
        Ok(r) => r,
        Err(_) => Err("membership change not committed in time".to_string()),
    }
}

async fn send_heartbeat(shared: &Shared, hb: Heartbeat) -> Result<(), ClusterError> {
    let rpc = Rpc::Heartbeat(hb);
    match to_leader(shared, &rpc).await? {
        None => {
            let Rpc::Heartbeat(hb) = rpc else {
                unreachable!("built above")
            };
            record_heartbeat(shared, hb)
        }
        Some(Reply::Write(r)) => r.map(|_| ()).map_err(ClusterError::NoLeader),
        Some(_) => Err(ClusterError::NoLeader("unexpected reply".into())),
    }
}

fn record_heartbeat(shared: &Shared, hb: Heartbeat) -> Result<(), ClusterError> {
    let mut soft = shared.soft.lock().unwrap_or_else(|e| e.into_inner());
    if soft.leader_since.is_none() {
        return Err(ClusterError::NoLeader("not the leader".into()));
    }
    soft.record(hb, Instant::now());
    Ok(())
}

/// Accepts cluster RPC connections until aborted.
async fn serve(shared: Arc<Shared>, listener: TcpListener, conns: Arc<Mutex<Vec<JoinHandle<()>>>>) {
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                let h = tokio::spawn(serve_conn(shared.clone(), s));
                let mut c = conns.lock().await;
                c.retain(|h| !h.is_finished());
                c.push(h);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cluster accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve_conn(shared: Arc<Shared>, mut s: TcpStream) {
    loop {
        let rpc: Rpc = match read_frame(&mut s).await {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(error = %e, "cluster connection closed");
                return;
            }
        };
        let reply = match rpc {
            Rpc::Append(r) => Reply::Append(shared.raft.append_entries(r).await),
            Rpc::Vote(r) => Reply::Vote(shared.raft.vote(r).await),
            Rpc::Snapshot(r) => Reply::Snapshot(shared.raft.install_snapshot(r).await),
            Rpc::Heartbeat(hb) => Reply::Write(
                record_heartbeat(&shared, hb)
                    .map(|_| Ok(()))
                    .map_err(|e| e.to_string()),
            ),
            Rpc::Write(cmd) => Reply::Write(local_write(&shared, cmd).await),
            Rpc::Join { id, addr } => {
                let r = shared
                    .raft
                    .add_learner(id, BasicNode::new(addr), false)
                    .await;
                Reply::Write(r.map(|_| Ok(())).map_err(|e| e.to_string()))
            }
            rpc @ (Rpc::AddVoter { .. } | Rpc::RemoveNode { .. }) => {
                Reply::Write(on_leader(&shared, rpc).await)
            }
        };
        if let Err(e) = write_frame(&mut s, &reply).await {
            tracing::debug!(error = %e, "cluster reply failed");
            return;
        }
    }
}

/// Merges Raft metrics and applied state into [`ClusterView`]s; tracks leadership for the
/// controller's soft state.
async fn publish_views(
    shared: Arc<Shared>,
    mut state_rx: watch::Receiver<ClusterState>,
    view_tx: watch::Sender<ClusterView>,
) {
    let mut metrics_rx = shared.raft.metrics();
    loop {
        let (leader, term, is_leader) = {
            let m = metrics_rx.borrow_and_update();
            (
                m.current_leader,
                m.current_term,
                m.state == ServerState::Leader,
            )
        };
        shared
            .soft
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_leader(is_leader, Instant::now());
        let state = state_rx.borrow_and_update().clone();
        let view = ClusterView {
            node_id: shared.config.node_id,
            leader,
            term,
            state,
        };
        shared.metrics.update(&view, is_leader);
        view_tx.send_if_modified(|v| {
            let changed = *v != view;
            *v = view;
            changed
        });
        tokio::select! {
            r = metrics_rx.changed() => if r.is_err() { return },
            r = state_rx.changed() => if r.is_err() { return },
        }
    }
}

/// Proposes `RegisterNode` for this node until the state shows it as configured.
async fn register_self(shared: Arc<Shared>) {
    let cfg = &shared.config;
    let info = NodeInfo {
        id: cfg.node_id,
        addrs: cfg.addrs.clone(),
        group: cfg.group.clone(),
    };
    loop {
        if shared.view_rx.borrow().state.nodes.get(&info.id) == Some(&info) {
            return;
        }
        if let Err(e) = propose(&shared, Command::RegisterNode { info: info.clone() }).await {
            tracing::debug!(error = %e, "node registration not committed yet");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A non-voter asks the leader (any voter it can reach) to add it as a learner.
async fn join_as_learner(shared: Arc<Shared>) {
    let cfg = &shared.config;
    let rpc = Rpc::Join {
        id: cfg.node_id,
        addr: cfg.addrs.raft.clone(),
    };
    loop {
        if shared
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .get_node(&cfg.node_id)
            .is_some()
        {
            return;
        }
        for addr in cfg.voters.values() {
            if let Ok(Reply::Write(Ok(_))) = Peer::new(addr.clone()).call(&rpc, WRITE_TIMEOUT).await
            {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Sends this node's heartbeat every `heartbeat_interval` while it has a group.
async fn heartbeat_loop(shared: Arc<Shared>) {
    let Some(group) = shared.config.group.clone() else {
        return;
    };
    let mut tick = tokio::time::interval(shared.config.heartbeat_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (role, epoch) = {
            let v = shared.view_rx.borrow();
            let epoch = v.group(&group).map(|g| g.epoch).unwrap_or(0);
            (v.role_of(shared.config.node_id), epoch)
        };
        let hb = Heartbeat {
            node: shared.config.node_id,
            group: Some(group.clone()),
            role,
            epoch,
            max_offset: shared.offset.load(Ordering::Relaxed),
        };
        match send_heartbeat(&shared, hb).await {
            Ok(()) => confirm_contact(&shared).await,
            Err(e) => tracing::trace!(error = %e, "heartbeat not delivered"),
        }
    }
}

/// Records majority contact after a delivered heartbeat. A follower's
/// heartbeat reached a leader that answered; a leader's own heartbeat is
/// local, so it asks a quorum to confirm its leadership first (a leader cut
/// off from the majority keeps its role in openraft until it hears a higher
/// term).
async fn confirm_contact(shared: &Shared) {
    let leader = shared.raft.metrics().borrow().state == ServerState::Leader;
    if leader {
        let limit = shared.config.heartbeat_interval * 3;
        match tokio::time::timeout(limit, shared.raft.ensure_linearizable()).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
    }
    *shared.contact.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
}

/// On the leader, proposes elections for groups whose master is missing or silent.
async fn controller_loop(shared: Arc<Shared>) {
    let c = &shared.config;
    let mut policy = Policy::new(
        c.master_timeout,
        c.unclean_election,
        // openraft: leader lease (election_timeout_max = 2 × min) + at least one minimum
        // election timeout pass before a new leader is elected.
        c.raft_election_timeout * 3,
        c.heartbeat_interval,
        c.raft_heartbeat,
    );
    policy.min_insync = c.min_insync_replicas;
    let mut tick = tokio::time::interval(CONTROLLER_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let cmds = {
            let state = shared.view_rx.borrow().state.clone();
            let soft = shared.soft.lock().unwrap_or_else(|e| e.into_inner());
            decide(&state, &soft, policy, Instant::now())
        };
        for cmd in cmds {
            tracing::info!(?cmd, "controller proposes a master election");
            match local_write(&shared, cmd).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::info!(error = %e, "master election refused"),
                Err(e) => tracing::warn!(error = %e, "master election not committed"),
            }
        }
    }
}
