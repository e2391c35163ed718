//! SYNC_FLUSH group commit for appends that run on the caller's thread.
//!
//! With SYNC_FLUSH a client append runs inline under the writer lock as with
//! ASYNC_FLUSH (`store/inline.rs`), then hands its log end and its oneshot to
//! the group-commit thread here and waits. The thread syncs up to the furthest
//! end handed in, then completes every append that sync covered (RocketMQ's
//! GroupCommitService). An appender wakes the thread only when it sleeps
//! (`idle`), so while a sync runs the appenders queue behind it with no
//! system call; the next sync takes all of them. A profile of the former
//! writer-thread hop (issue 16, BENCHMARKS.md §15) put a futex wake-up of
//! the writer thread and its sleep and wake-up per round on the requests.

use std::sync::{Condvar, Mutex};

use tokio::sync::oneshot;

use crate::entry::AppendResult;
use crate::error::{Result, StoreError};
use crate::writer::{sync_log, Shared};

/// An append's answer channel and the answer to send once synced.
pub(crate) type Completion = (oneshot::Sender<Result<AppendResult>>, Result<AppendResult>);

/// Appends waiting for a sync, shared by the appenders and the thread.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// The furthest log end handed in.
    upto: u64,
    waiting: Vec<Completion>,
    /// The thread sleeps in `wake.wait` (a hand-in must notify it).
    idle: bool,
    /// No thread syncs (stopped, or never started): appenders sync themselves.
    stopped: bool,
}

impl GroupCommit {
    /// A group commit whose thread is started later with [`GroupCommit::run`];
    /// until it is, hand-ins sync on the caller's thread.
    pub(crate) fn new() -> GroupCommit {
        GroupCommit {
            state: Mutex::new(State {
                stopped: true,
                waiting: Vec::with_capacity(256),
                ..State::default()
            }),
            wake: Condvar::new(),
        }
    }

    /// Marks the thread as running (call before spawning it).
    pub(crate) fn start(&self) {
        self.lock().stopped = false;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Completes `done` once the log is synced up to `upto` (which covers
    /// its bytes): by the thread, or here when no thread runs.
    pub(crate) fn submit(&self, shared: &Shared, upto: u64, done: Completion) {
        let mut s = self.lock();
        if s.stopped {
            drop(s);
            complete(shared, std::iter::once(done), &sync(shared, upto));
            return;
        }
        s.upto = s.upto.max(upto);
        s.waiting.push(done);
        if s.idle {
            s.idle = false;
            drop(s);
            self.wake.notify_one();
        }
    }

    /// Lets the thread finish what is queued and return; later hand-ins
    /// sync on their own thread.
    pub(crate) fn stop(&self) {
        let mut s = self.lock();
        s.stopped = true;
        s.idle = false;
        drop(s);
        self.wake.notify_one();
    }

    /// The group-commit thread: syncs up to the furthest end handed in, then
    /// completes every append that sync covered; returns after `stop` once
    /// nothing is queued.
    pub(crate) fn run(&self, shared: &Shared) {
        let mut batch: Vec<Completion> = Vec::with_capacity(256);
        loop {
            let upto = {
                let mut s = self.lock();
                while s.waiting.is_empty() && !s.stopped {
                    s.idle = true;
                    s = self.wake.wait(s).unwrap_or_else(|e| e.into_inner());
                }
                s.idle = false;
                if s.waiting.is_empty() {
                    return;
                }
                std::mem::swap(&mut batch, &mut s.waiting);
                s.upto
            };
            shared.metrics.group_size.observe(batch.len() as f64);
            complete(shared, batch.drain(..), &sync(shared, upto));
        }
    }
}

/// Syncs the log up to `upto`, unless an earlier failed sync poisoned it.
fn sync(shared: &Shared, upto: u64) -> Result<()> {
    if shared.poisoned.load(std::sync::atomic::Ordering::Acquire) {
        return Err(StoreError::Poisoned);
    }
    sync_log(shared, upto)
}

/// Completes appends; a failed sync turns their successes into `Poisoned`.
pub(crate) fn complete(
    shared: &Shared,
    done: impl Iterator<Item = Completion>,
    synced: &Result<()>,
) {
    for (tx, r) in done {
        let r = match (synced, r) {
            (Err(_), Ok(_)) => Err(StoreError::Poisoned),
            (_, r) => r,
        };
        if let Err(e) = &r {
            shared.metrics.record_refused(e);
        }
        let _ = tx.send(r);
    }
}
