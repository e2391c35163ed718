//! HA service: streams the master's CommitLog to its slaves (ADR 013).
//!
//! [`Ha`] owns one store's replication role. As master it serves slaves on a
//! listener ([`Ha::serve`]) and tracks each slave's acknowledged offset for
//! [`Ha::wait_acked`]; as slave it runs a client task that connects to the
//! master, truncates a divergent tail and appends the streamed chunks.
//! The role comes from outside (the control plane) through [`Ha::set_role`].
//!
//! ```text
//! wire.rs    handshake, frame and ack encoding
//! master.rs  accept loop and one streaming session per slave
//! slave.rs   the client task of a slave
//! ```

mod master;
mod slave;
pub mod wire;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prometheus::{IntGauge, IntGaugeVec, Opts, Registry};
use rokka_store::epoch::{EpochFile, EPOCH_FILE_NAME};
use rokka_store::{Store, StoreError};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// Errors of the HA layer.
#[derive(Debug, thiserror::Error)]
pub enum HaError {
    /// Socket error.
    #[error("ha i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The store refused an operation.
    #[error("ha store: {0}")]
    Store(#[from] StoreError),
    /// The peer sent something invalid.
    #[error("ha protocol: {0}")]
    Protocol(String),
    /// A role that cannot be taken (epoch too large or going backwards).
    #[error("ha role: {0}")]
    Role(String),
}

/// The replication role of this store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// No replication: writable, no slaves served.
    Standalone,
    /// Master of term `epoch`: writable, serves slaves.
    Master {
        /// The term.
        epoch: u64,
    },
    /// Slave of `master` in term `epoch`: read-only, follows the master.
    Slave {
        /// The term.
        epoch: u64,
        /// The master's HA address.
        master: SocketAddr,
    },
}

impl Role {
    fn code(&self) -> i64 {
        match self {
            Role::Standalone => 0,
            Role::Master { .. } => 1,
            Role::Slave { .. } => 2,
        }
    }

    fn epoch(&self) -> u64 {
        match self {
            Role::Standalone => 0,
            Role::Master { epoch } | Role::Slave { epoch, .. } => *epoch,
        }
    }
}

/// What a master knows about one connected slave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaState {
    /// The slave's address.
    pub addr: SocketAddr,
    /// The slave's cluster node id (0 outside cluster mode).
    pub node: u64,
    /// The log offset the slave acknowledged as written.
    pub acked: u64,
    /// Bytes the slave is behind the master's log end.
    pub lag_bytes: u64,
    /// Time since the slave's last ack (or since it connected).
    pub last_ack_age: Duration,
}

#[derive(Debug)]
struct Replica {
    addr: SocketAddr,
    node: u64,
    acked: u64,
    last_ack: Instant,
    /// The master term the session was opened in.
    epoch: u64,
}

struct Metrics {
    role: IntGauge,
    epoch: IntGauge,
    lag: IntGaugeVec,
}

impl Metrics {
    fn new(registry: &Registry) -> Metrics {
        let role = IntGauge::new(
            "rokka_ha_role",
            "HA role of the store: 0 standalone, 1 master, 2 slave",
        )
        .expect("valid metric");
        let epoch =
            IntGauge::new("rokka_ha_epoch", "HA term of the current role").expect("valid metric");
        let lag = IntGaugeVec::new(
            Opts::new(
                "rokka_ha_replica_lag_bytes",
                "Bytes a connected slave is behind the master's log end",
            ),
            &["replica"],
        )
        .expect("valid metric");
        for c in [
            Box::new(role.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(epoch.clone()),
            Box::new(lag.clone()),
        ] {
            if let Err(e) = registry.register(c) {
                tracing::warn!(error = %e, "HA metric not registered");
            }
        }
        Metrics { role, epoch, lag }
    }
}

pub(crate) struct Inner {
    store: Store,
    epochs: Mutex<EpochFile>,
    role: watch::Sender<Role>,
    replicas: Mutex<HashMap<u64, Replica>>,
    next_id: Mutex<u64>,
    acked: Notify,
    slave_task: Mutex<Option<JoinHandle<()>>>,
    metrics: Metrics,
    node_id: std::sync::atomic::AtomicU64,
    /// True once this store's log is known to be a prefix of a master's
    /// (see [`Ha::log_agrees`]).
    agrees: watch::Sender<bool>,
}

/// The HA service of one store. Cheap to clone.
#[derive(Clone)]
pub struct Ha {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Ha {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ha").field("role", &self.role()).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Ha {
    /// The HA service of `store`, standalone. Opens the store's epoch file
    /// (an unreadable one is logged and replaced by an empty history, which
    /// makes this store truncate fully when it next follows a master).
    pub fn new(store: Store, registry: &Registry) -> Ha {
        let path = store.config().root_dir.join(EPOCH_FILE_NAME);
        let epochs = EpochFile::open(&path).unwrap_or_else(|e| {
            tracing::error!(error = %e, "epoch file unreadable; starting an empty history");
            let _ = std::fs::remove_file(&path);
            EpochFile::open(&path).expect("a missing epoch file opens empty")
        });
        let (role, _) = watch::channel(Role::Standalone);
        Ha {
            inner: Arc::new(Inner {
                store,
                epochs: Mutex::new(epochs),
                role,
                replicas: Mutex::new(HashMap::new()),
                next_id: Mutex::new(0),
                acked: Notify::new(),
                slave_task: Mutex::new(None),
                metrics: Metrics::new(registry),
                node_id: std::sync::atomic::AtomicU64::new(0),
                agrees: watch::channel(false).0,
            }),
        }
    }

    /// Sets the cluster node id this store announces when it follows a
    /// master (the master reports its in-sync set by node id).
    pub fn set_node_id(&self, id: u64) {
        self.inner
            .node_id
            .store(id, std::sync::atomic::Ordering::Relaxed);
    }

    /// The store this service replicates.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The current role.
    pub fn role(&self) -> Role {
        *self.inner.role.borrow()
    }

    /// Takes `role`; taking the current role again does nothing. Master:
    /// the store becomes writable and a new epoch is recorded at the log
    /// end. Slave: the store becomes read-only and a client task follows the
    /// master. Every change ends the running master sessions and slave task.
    /// Must be called inside a tokio runtime when `role` is a slave.
    pub fn set_role(&self, role: Role) -> Result<(), HaError> {
        // A slave whose task [`Ha::stop_following`] ended takes the role again.
        let following = lock(&self.inner.slave_task).is_some();
        if self.role() == role && (following || !matches!(role, Role::Slave { .. })) {
            return Ok(());
        }
        let epoch = u32::try_from(role.epoch())
            .map_err(|_| HaError::Role(format!("epoch {} exceeds u32", role.epoch())))?;
        if let Some(last) = lock(&self.inner.epochs).last() {
            if epoch < last.epoch && role != Role::Standalone {
                return Err(HaError::Role(format!(
                    "epoch {epoch} is older than the recorded {}",
                    last.epoch
                )));
            }
        }
        let handle = match role {
            Role::Slave { master, .. } => Some(
                tokio::runtime::Handle::try_current()
                    .map_err(|_| HaError::Role("slave role needs a tokio runtime".into()))?
                    .spawn(slave::run(self.inner.clone(), role, master)),
            ),
            _ => None,
        };
        if let Some(old) = lock(&self.inner.slave_task).take() {
            old.abort();
        }
        match role {
            Role::Standalone => self.inner.store.set_read_only(false),
            Role::Master { .. } => {
                self.inner.store.set_read_only(false);
                let end = self.inner.store.log_end();
                lock(&self.inner.epochs).append(epoch, end)?;
                // Whatever it appends as master may be a tail the next
                // master never gets: it agrees again after a handshake.
                self.inner.agrees.send_replace(false);
            }
            Role::Slave { .. } => self.inner.store.set_read_only(true),
        }
        *lock(&self.inner.slave_task) = handle;
        self.inner.role.send_replace(role);
        self.inner.metrics.role.set(role.code());
        self.inner.metrics.epoch.set(role.epoch() as i64);
        tracing::info!(?role, "HA role changed");
        Ok(())
    }

    /// True once this store's log is known to agree with a master's: it
    /// finished a handshake with one (and truncated any divergent tail)
    /// since the process started or since it was last master. Until then
    /// its tail may hold entries no master has (a restarted or demoted old
    /// master's unacknowledged appends), so it serves no slave reads.
    pub fn log_agrees(&self) -> bool {
        *self.inner.agrees.borrow()
    }

    /// Waits until [`Ha::log_agrees`] or `timeout` passed.
    pub async fn wait_log_agrees(&self, timeout: Duration) {
        let mut rx = self.inner.agrees.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|a| *a)).await;
    }

    /// Slave side: stops following the master and waits until every chunk
    /// the slave task received is written, so [`Store::log_end`] is final
    /// (aborting the task alone leaves a chunk it handed to the store
    /// writer in flight). A promotion calls this before it rebuilds state
    /// from the log and records its term's start offset; otherwise a chunk
    /// landing afterwards would be missing from the idempotent producers'
    /// table and counted in the new term. The role stays; taking it again
    /// restarts the task.
    pub async fn stop_following(&self) -> Result<(), HaError> {
        let task = lock(&self.inner.slave_task).take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        self.inner.store.replication_barrier().await?;
        Ok(())
    }

    /// Master side: accepts slaves on `listener` until it fails. Connections
    /// arriving while this store is not master are closed at once.
    pub async fn serve(&self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        master::serve(self.inner.clone(), listener).await
    }

    /// Waits until `replicas` connected slaves acknowledged writing up to
    /// `end`; false when `timeout` passes first.
    pub async fn wait_acked(&self, end: u64, replicas: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.acked.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.inner.count_acked(end) >= replicas {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.inner.count_acked(end) >= replicas;
            }
        }
    }

    /// The highest offset each connected slave acknowledged, by node id
    /// (master side; a node with two sessions counts its best one). Only
    /// sessions of the current master term count: a session of an earlier
    /// term (ended lazily) may report bytes the slave has since truncated
    /// when it followed another master.
    pub fn acked_by_node(&self) -> HashMap<u64, u64> {
        let mut m = HashMap::new();
        let Role::Master { epoch } = self.role() else {
            return m;
        };
        for r in lock(&self.inner.replicas)
            .values()
            .filter(|r| r.epoch == epoch)
        {
            let a = m.entry(r.node).or_insert(0);
            *a = (*a).max(r.acked);
        }
        m
    }

    /// A future that completes at the next slave ack or disconnect; enable
    /// it before checking [`Ha::acked_by_node`] so no ack is missed.
    pub fn next_ack(&self) -> tokio::sync::futures::Notified<'_> {
        self.inner.acked.notified()
    }

    /// The connected slaves (master side).
    pub fn replica_states(&self) -> Vec<ReplicaState> {
        let end = self.inner.store.log_end();
        let mut v: Vec<ReplicaState> = lock(&self.inner.replicas)
            .values()
            .map(|r| ReplicaState {
                addr: r.addr,
                node: r.node,
                acked: r.acked,
                lag_bytes: end.saturating_sub(r.acked),
                last_ack_age: r.last_ack.elapsed(),
            })
            .collect();
        v.sort_by_key(|r| r.addr);
        v
    }
}

impl Inner {
    fn count_acked(&self, end: u64) -> usize {
        let Role::Master { epoch } = *self.role.borrow() else {
            return 0;
        };
        lock(&self.replicas)
            .values()
            .filter(|r| r.epoch == epoch && r.acked >= end)
            .count()
    }

    fn add_replica(&self, addr: SocketAddr, node: u64, acked: u64, epoch: u64) -> u64 {
        let id = {
            let mut n = lock(&self.next_id);
            *n += 1;
            *n
        };
        lock(&self.replicas).insert(
            id,
            Replica {
                addr,
                node,
                acked,
                last_ack: Instant::now(),
                epoch,
            },
        );
        self.record_ack(id, acked);
        id
    }

    fn record_ack(&self, id: u64, written: u64) {
        let addr = {
            let mut reps = lock(&self.replicas);
            let Some(r) = reps.get_mut(&id) else { return };
            r.acked = written;
            r.last_ack = Instant::now();
            r.addr
        };
        let lag = self.store.log_end().saturating_sub(written);
        self.metrics
            .lag
            .with_label_values(&[&addr.to_string()])
            .set(lag as i64);
        self.acked.notify_waiters();
    }

    fn remove_replica(&self, id: u64) {
        if let Some(r) = lock(&self.replicas).remove(&id) {
            let _ = self.metrics.lag.remove_label_values(&[&r.addr.to_string()]);
        }
        self.acked.notify_waiters();
    }
}
