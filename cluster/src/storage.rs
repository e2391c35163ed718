//! File-backed Raft storage: log, vote, committed id and snapshot under one directory.
//!
//! The controller's log is small (membership and group changes), so the layout favours
//! simplicity over throughput:
//! - `log.jsonl`: one JSON entry per line, appended and fsynced before openraft is told the
//!   entries are durable. A torn last line (crash mid-append) was never acknowledged and is
//!   dropped on load. Truncation and purge rewrite the file through a temporary file and a
//!   rename.
//! - `vote.json`, `committed.json`, `snapshot.json`: replaced atomically (write, fsync,
//!   rename, fsync the directory).
//!
//! The state machine lives in memory; on restart it is rebuilt from the snapshot and
//! openraft re-applies the log up to the saved committed id.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{self, File, OpenOptions};
use std::io::{Cursor, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{LogState, RaftLogReader, RaftSnapshotBuilder, RaftStorage, Snapshot};
use openraft::{
    Entry, EntryPayload, LogId, SnapshotMeta, StorageError, StorageIOError, StoredMembership, Vote,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tokio::sync::watch;

use crate::raft::TypeConfig;
use crate::state::{ClusterState, CommandResult, NodeId};

type Membership = StoredMembership<NodeId, openraft::BasicNode>;
type SErr = StorageError<NodeId>;

/// What `snapshot.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, openraft::BasicNode>,
    state: ClusterState,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    log: BTreeMap<u64, Entry<TypeConfig>>,
    last_purged: Option<LogId<NodeId>>,
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId<NodeId>>,
    snapshot: Option<StoredSnapshot>,
    state: ClusterState,
    last_applied: Option<LogId<NodeId>>,
    membership: Membership,
    snapshot_seq: u64,
}

/// The file-backed store; cheap to clone (shared inner state). Published state changes go
/// to a watch channel so [`crate::ClusterNode`] can build its view.
#[derive(Debug, Clone)]
pub struct FileStore {
    inner: Arc<Mutex<Inner>>,
    state_tx: Arc<watch::Sender<ClusterState>>,
}

fn io_err(e: impl std::error::Error + 'static) -> openraft::AnyError {
    openraft::AnyError::new(&e)
}

/// Writes `value` as JSON to `dir/name` atomically.
fn write_atomic<T: Serialize>(dir: &Path, name: &str, value: &T) -> std::io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let mut f = File::create(&tmp)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, dir.join(name))?;
    File::open(dir)?.sync_all()
}

fn read_json<T: DeserializeOwned>(path: &Path) -> std::io::Result<Option<T>> {
    match fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl Inner {
    fn log_path(&self) -> PathBuf {
        self.dir.join("log.jsonl")
    }

    /// Rewrites the whole log file from memory (after truncate or purge).
    fn rewrite_log(&self) -> std::io::Result<()> {
        let tmp = self.dir.join("log.jsonl.tmp");
        let mut f = File::create(&tmp)?;
        let mut buf = Vec::new();
        for e in self.log.values() {
            serde_json::to_writer(&mut buf, e).map_err(std::io::Error::other)?;
            buf.push(b'\n');
        }
        f.write_all(&buf)?;
        f.sync_all()?;
        fs::rename(&tmp, self.log_path())?;
        File::open(&self.dir)?.sync_all()
    }
}

/// Reads `log.jsonl`, dropping a torn last line; the flag says whether the file must be
/// rewritten (a dropped line or a missing final newline) before anything is appended.
fn load_log(path: &Path) -> std::io::Result<(BTreeMap<u64, Entry<TypeConfig>>, bool)> {
    let mut log = BTreeMap::new();
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((log, false)),
        Err(e) => return Err(e),
    };
    let mut dirty = !bytes.is_empty() && !bytes.ends_with(b"\n");
    let lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let n = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        match serde_json::from_slice::<Entry<TypeConfig>>(line) {
            Ok(e) => {
                log.insert(e.log_id.index, e);
            }
            Err(e) if i + 1 == n => {
                tracing::warn!(error = %e, "raft log: dropping torn last line");
                dirty = true;
            }
            Err(e) => {
                return Err(std::io::Error::other(format!(
                    "raft log line {}: {e}",
                    i + 1
                )))
            }
        }
    }
    Ok((log, dirty))
}

impl FileStore {
    /// Opens (creating if needed) the store in `dir` and loads what is there.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        fs::create_dir_all(dir)?;
        let snapshot: Option<StoredSnapshot> = read_json(&dir.join("snapshot.json"))?;
        let (mut log, dirty) = load_log(&dir.join("log.jsonl"))?;
        let (state, last_applied, membership) = match &snapshot {
            Some(s) => (
                s.state.clone(),
                s.meta.last_log_id,
                s.meta.last_membership.clone(),
            ),
            None => (ClusterState::default(), None, Membership::default()),
        };
        // Entries covered by the snapshot were purged (or are about to be).
        let last_purged = snapshot.as_ref().and_then(|s| s.meta.last_log_id);
        if let Some(p) = last_purged {
            log.retain(|i, _| *i > p.index);
        }
        let inner = Inner {
            dir: dir.to_path_buf(),
            log,
            last_purged,
            vote: read_json(&dir.join("vote.json"))?,
            committed: read_json(&dir.join("committed.json"))?,
            snapshot,
            state: state.clone(),
            last_applied,
            membership,
            snapshot_seq: 0,
        };
        if dirty {
            inner.rewrite_log()?;
        }
        let (state_tx, _) = watch::channel(state);
        Ok(Self {
            inner: Arc::new(Mutex::new(inner)),
            state_tx: Arc::new(state_tx),
        })
    }

    /// A receiver of the applied cluster state.
    pub fn subscribe(&self) -> watch::Receiver<ClusterState> {
        self.state_tx.subscribe()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl RaftLogReader<TypeConfig> for FileStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, SErr> {
        Ok(self
            .lock()
            .log
            .range(range)
            .map(|(_, e)| e.clone())
            .collect())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for FileStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, SErr> {
        let mut g = self.lock();
        g.snapshot_seq += 1;
        let last = g.last_applied;
        let meta = SnapshotMeta {
            last_log_id: last,
            last_membership: g.membership.clone(),
            snapshot_id: format!(
                "{}-{}-{}",
                last.map(|l| l.leader_id.term).unwrap_or(0),
                last.map(|l| l.index).unwrap_or(0),
                g.snapshot_seq
            ),
        };
        let stored = StoredSnapshot {
            meta: meta.clone(),
            state: g.state.clone(),
        };
        let data = serde_json::to_vec(&stored.state)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), io_err(e)))?;
        write_atomic(&g.dir, "snapshot.json", &stored)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), io_err(e)))?;
        g.snapshot = Some(stored);
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStorage<TypeConfig> for FileStore {
    type LogReader = Self;
    type SnapshotBuilder = Self;

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), SErr> {
        let mut g = self.lock();
        write_atomic(&g.dir, "vote.json", vote)
            .map_err(|e| StorageIOError::write_vote(io_err(e)))?;
        g.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, SErr> {
        Ok(self.lock().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<(), SErr> {
        let mut g = self.lock();
        write_atomic(&g.dir, "committed.json", &committed)
            .map_err(|e| StorageIOError::write(io_err(e)))?;
        g.committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, SErr> {
        Ok(self.lock().committed)
    }

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, SErr> {
        let g = self.lock();
        let last = g
            .log
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(g.last_purged);
        Ok(LogState {
            last_purged_log_id: g.last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn append_to_log<I>(&mut self, entries: I) -> Result<(), SErr>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
    {
        let mut g = self.lock();
        let mut buf = Vec::new();
        let mut new = Vec::new();
        for e in entries {
            serde_json::to_writer(&mut buf, &e)
                .map_err(|e| StorageIOError::write_logs(io_err(e)))?;
            buf.push(b'\n');
            new.push(e);
        }
        let path = g.log_path();
        let res = (|| {
            let mut f = OpenOptions::new().create(true).append(true).open(path)?;
            f.write_all(&buf)?;
            f.sync_data()
        })();
        res.map_err(|e| StorageIOError::write_logs(io_err(e)))?;
        for e in new {
            g.log.insert(e.log_id.index, e);
        }
        Ok(())
    }

    async fn delete_conflict_logs_since(&mut self, log_id: LogId<NodeId>) -> Result<(), SErr> {
        let mut g = self.lock();
        g.log.retain(|i, _| *i < log_id.index);
        g.rewrite_log()
            .map_err(|e| StorageIOError::write_logs(io_err(e)))?;
        Ok(())
    }

    async fn purge_logs_upto(&mut self, log_id: LogId<NodeId>) -> Result<(), SErr> {
        let mut g = self.lock();
        g.log.retain(|i, _| *i > log_id.index);
        g.last_purged = Some(log_id);
        g.rewrite_log()
            .map_err(|e| StorageIOError::write_logs(io_err(e)))?;
        Ok(())
    }

    async fn last_applied_state(&mut self) -> Result<(Option<LogId<NodeId>>, Membership), SErr> {
        let g = self.lock();
        Ok((g.last_applied, g.membership.clone()))
    }

    async fn apply_to_state_machine(
        &mut self,
        entries: &[Entry<TypeConfig>],
    ) -> Result<Vec<CommandResult>, SErr> {
        let mut out = Vec::with_capacity(entries.len());
        let state = {
            let mut g = self.lock();
            for e in entries {
                g.last_applied = Some(e.log_id);
                match &e.payload {
                    EntryPayload::Blank => out.push(Ok(())),
                    EntryPayload::Normal(cmd) => {
                        let r = g.state.apply(cmd);
                        if let Err(err) = &r {
                            tracing::info!(index = e.log_id.index, error = %err, "cluster command refused");
                        }
                        out.push(r);
                    }
                    EntryPayload::Membership(m) => {
                        g.membership = StoredMembership::new(Some(e.log_id), m.clone());
                        out.push(Ok(()));
                    }
                }
            }
            g.state.clone()
        };
        self.state_tx.send_replace(state);
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, SErr> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, openraft::BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), SErr> {
        let state: ClusterState = serde_json::from_slice(snapshot.get_ref())
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), io_err(e)))?;
        {
            let mut g = self.lock();
            let stored = StoredSnapshot {
                meta: meta.clone(),
                state: state.clone(),
            };
            write_atomic(&g.dir, "snapshot.json", &stored)
                .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), io_err(e)))?;
            g.snapshot = Some(stored);
            g.state = state.clone();
            g.last_applied = meta.last_log_id;
            g.membership = meta.last_membership.clone();
        }
        self.state_tx.send_replace(state);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, SErr> {
        let g = self.lock();
        Ok(g.snapshot.as_ref().map(|s| Snapshot {
            meta: s.meta.clone(),
            snapshot: Box::new(Cursor::new(
                serde_json::to_vec(&s.state).unwrap_or_default(),
            )),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Command, NodeAddrs, NodeInfo};
    use openraft::testing::log_id;

    fn entry(index: u64, id: NodeId) -> Entry<TypeConfig> {
        let info = NodeInfo {
            id,
            addrs: NodeAddrs::default(),
            group: Some("g".into()),
        };
        Entry {
            log_id: log_id(1, 1, index),
            payload: EntryPayload::Normal(Command::RegisterNode { info }),
        }
    }

    async fn fill(store: &mut FileStore, from: u64, to: u64) {
        let entries: Vec<_> = (from..=to).map(|i| entry(i, i)).collect();
        store.append_to_log(entries.clone()).await.unwrap();
        store.apply_to_state_machine(&entries).await.unwrap();
        store.save_committed(Some(log_id(1, 1, to))).await.unwrap();
    }

    #[tokio::test]
    async fn log_vote_and_committed_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = FileStore::open(dir.path()).unwrap();
        s.save_vote(&Vote::new(3, 2)).await.unwrap();
        fill(&mut s, 1, 5).await;
        s.delete_conflict_logs_since(log_id(1, 1, 5)).await.unwrap();
        drop(s);
        let mut s = FileStore::open(dir.path()).unwrap();
        assert_eq!(s.read_vote().await.unwrap(), Some(Vote::new(3, 2)));
        assert_eq!(s.read_committed().await.unwrap(), Some(log_id(1, 1, 5)));
        let state = s.get_log_state().await.unwrap();
        assert_eq!(state.last_log_id, Some(log_id(1, 1, 4)));
        let got = s.try_get_log_entries(2..4).await.unwrap();
        assert_eq!(
            got.iter().map(|e| e.log_id.index).collect::<Vec<_>>(),
            vec![2, 3]
        );
        // Nothing applied yet after a reopen without a snapshot: openraft re-applies.
        assert_eq!(s.last_applied_state().await.unwrap().0, None);
    }

    #[tokio::test]
    async fn snapshot_and_purge_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = FileStore::open(dir.path()).unwrap();
        fill(&mut s, 1, 4).await;
        let snap = s.build_snapshot().await.unwrap();
        assert_eq!(snap.meta.last_log_id, Some(log_id(1, 1, 4)));
        s.purge_logs_upto(log_id(1, 1, 4)).await.unwrap();
        fill(&mut s, 5, 6).await;
        drop(s);
        let mut s = FileStore::open(dir.path()).unwrap();
        let state = s.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(1, 1, 4)));
        assert_eq!(state.last_log_id, Some(log_id(1, 1, 6)));
        assert_eq!(
            s.last_applied_state().await.unwrap().0,
            Some(log_id(1, 1, 4))
        );
        assert_eq!(s.subscribe().borrow().nodes.len(), 4);
        let cur = s.get_current_snapshot().await.unwrap().expect("snapshot");
        let restored: ClusterState = serde_json::from_slice(cur.snapshot.get_ref()).unwrap();
        assert_eq!(restored.nodes.len(), 4);
        // Install it on a fresh store, as a lagging follower would.
        let dir2 = tempfile::tempdir().unwrap();
        let mut t = FileStore::open(dir2.path()).unwrap();
        t.install_snapshot(&cur.meta, cur.snapshot).await.unwrap();
        assert_eq!(
            t.last_applied_state().await.unwrap().0,
            Some(log_id(1, 1, 4))
        );
        assert_eq!(
            FileStore::open(dir2.path())
                .unwrap()
                .subscribe()
                .borrow()
                .nodes
                .len(),
            4
        );
    }

    #[tokio::test]
    async fn torn_last_line_dropped_but_corrupt_middle_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = FileStore::open(dir.path()).unwrap();
        fill(&mut s, 1, 2).await;
        drop(s);
        let path = dir.path().join("log.jsonl");
        let good = fs::read(&path).unwrap();
        fs::write(&path, [good.as_slice(), b"{\"log_id\":"].concat()).unwrap();
        let mut s = FileStore::open(dir.path()).unwrap();
        assert_eq!(
            s.get_log_state().await.unwrap().last_log_id,
            Some(log_id(1, 1, 2))
        );
        drop(s);
        fs::write(&path, [b"garbage\n".as_slice(), good.as_slice()].concat()).unwrap();
        assert!(FileStore::open(dir.path()).is_err());
    }
}
