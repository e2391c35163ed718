//! POP consumption (RocketMQ 5.x), protocol-neutral: the remoting POP codes
//! (`remoting/pop*.rs`) and a later gRPC front-end both drive this engine.
//!
//! Per (group, topic, queue) a pop hands out the next messages from the
//! group's POP position and keeps each one in flight, invisible until
//! `pop time + invisible time`; an ack removes it, a change of invisible
//! time moves its deadline. An expired message of an unordered queue is
//! *revived* (`revive.rs`): copied to the group's POP retry topic
//! `%RETRY%<group>_<topic>` with reconsume times + 1, or to `%DLQ%<group>`
//! once it had the group's `retryMaxTimes` deliveries; later pops of the
//! topic read that retry topic first. An orderly queue is held by its
//! batch until every message of it is acked; an expired batch is handed
//! out again, in order, from the same queue.
//!
//! State and persistence: `state.rs` is the state machine, `journal.rs`
//! its write-ahead journal (ADR 020). The group's committed offset in the
//! shared offset table follows the lowest offset not done, so classic
//! PULL/Kafka readers of the group start where POP has nothing pending.

pub mod journal;
pub mod modes;
pub mod read;
pub mod revive;
pub mod sift;
pub mod state;

use std::io;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use rokka_store::Store;
use tokio::sync::Notify;

use crate::format::cache::ConvertedBatches;
use journal::Journal;
use state::{Expired, PopState, QueueKey, Record};

/// reviveQid of orderly pops (upstream `KeyBuilder.POP_ORDER_REVIVE_QUEUE`;
/// clients tell orderly extraInfo by it).
pub const ORDER_REVIVE_QID: i32 = 999;
/// Most messages one pop returns (upstream refuses more than 32).
pub const MAX_POP_NUMS: u32 = 32;
/// Default delivery attempts before the DLQ (upstream retryMaxTimes).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 16;

/// The group's POP retry topic for `topic` (upstream V1 naming).
pub fn retry_topic(group: &str, topic: &str) -> String {
    format!("%RETRY%{group}_{topic}")
}

/// A pop request.
pub struct PopRequest<'a> {
    /// Consumer group.
    pub group: &'a str,
    /// Topic consumed.
    pub topic: &'a str,
    /// One queue, or every readable queue (`None`, queueId -1).
    pub queue: Option<u32>,
    /// Readable queues of the topic.
    pub read_queues: u32,
    /// At most this many messages (1..=32).
    pub max: u32,
    /// Invisible time, ms.
    pub invisible: i64,
    /// Orderly POP.
    pub orderly: bool,
    /// A queue never popped starts at its minimum (else at its end).
    pub from_min: bool,
    /// Tags-code filter (`None`: everything).
    pub filter: Option<&'a (dyn Fn(i64) -> bool + Sync)>,
}

impl std::fmt::Debug for PopRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PopRequest")
            .field("group", &self.group)
            .field("topic", &self.topic)
            .field("queue", &self.queue)
            .field("max", &self.max)
            .field("invisible", &self.invisible)
            .field("orderly", &self.orderly)
            .field("filtered", &self.filter.is_some())
            .finish_non_exhaustive()
    }
}

/// Popped messages of one queue.
#[derive(Debug, Clone)]
pub struct PoppedQueue {
    /// Topic the messages are stored in (the retry topic for retries).
    pub topic: String,
    /// Queue id.
    pub queue: u32,
    /// Whether `topic` is the POP retry topic.
    pub retry: bool,
    /// (offset, deliveries before this one, stored bytes) per message.
    pub msgs: Vec<(u64, u32, Bytes)>,
}

/// One pop's answer.
#[derive(Debug, Clone, Default)]
pub struct PopBatch {
    /// Pop time, ms.
    pub pop_time: i64,
    /// Invisible time, ms.
    pub invisible: i64,
    /// Messages per queue.
    pub queues: Vec<PoppedQueue>,
    /// Messages left behind in the queues looked at.
    pub rest: u64,
}

impl PopBatch {
    /// Messages popped.
    pub fn len(&self) -> usize {
        self.queues.iter().map(|q| q.msgs.len()).sum()
    }

    /// Nothing popped.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct Limit {
    /// The CommitLog offset reads stop at.
    at: ReadLimit,
    /// Resolves when `at` may have moved.
    advanced: LimitWait,
}

impl std::fmt::Debug for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadLimit")
    }
}

#[derive(Debug)]
struct Inner {
    state: PopState,
    journal: Journal,
}

/// Where POP may read up to: a CommitLog offset, asked at every read.
pub type ReadLimit = Box<dyn Fn() -> u64 + Send + Sync>;
/// Resolves when the read limit may have moved, or after the duration.
pub type LimitWait = Box<
    dyn Fn(Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// The POP engine of one broker.
#[derive(Debug)]
pub struct PopEngine {
    inner: Mutex<Inner>,
    store: Store,
    /// Cluster mode: the high watermark (`set_read_limit`); none: the log end.
    read_limit: std::sync::OnceLock<Limit>,
    converted: std::sync::Arc<ConvertedBatches>,
    /// Woken when an orderly queue is released (ack, revive).
    changed: Notify,
    /// Parked (long-polling) pops per (group, topic, queue id).
    parked: Mutex<std::collections::HashMap<(String, String, i32), usize>>,
    /// PULL/POP mode per (topic, group).
    pub modes: modes::RequestModes,
}

/// A parked pop, counted while it lives (POLLING_INFO).
#[derive(Debug)]
pub struct Parked<'a> {
    engine: &'a PopEngine,
    key: (String, String, i32),
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        let mut m = self.engine.parked.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.key);
            }
        }
    }
}

impl PopEngine {
    /// Opens the engine's journal under `dir` and replays it.
    pub fn open(
        dir: &Path,
        store: Store,
        converted: std::sync::Arc<ConvertedBatches>,
    ) -> io::Result<PopEngine> {
        let r = Journal::open(dir)?;
        if r.skipped > 0 {
            tracing::warn!(
                skipped = r.skipped,
                "POP journal: unreadable records skipped (a torn last write)"
            );
        }
        Ok(PopEngine {
            inner: Mutex::new(Inner {
                state: r.state,
                journal: r.journal,
            }),
            store,
            read_limit: std::sync::OnceLock::new(),
            converted,
            changed: Notify::new(),
            parked: Mutex::default(),
            modes: modes::RequestModes::open(dir),
        })
    }

    /// Cluster mode: pops read only below `limit()` (a CommitLog offset,
    /// the high watermark), as pulls do, so no consumer gets a message a
    /// newly elected master may not have; a parked pop also wakes on
    /// `advanced` (a replica ack). Set once, at start-up.
    pub fn set_read_limit(&self, limit: ReadLimit, advanced: LimitWait) {
        if self
            .read_limit
            .set(Limit {
                at: limit,
                advanced,
            })
            .is_err()
        {
            tracing::warn!("POP read limit set twice; the first one stays");
        }
    }

    fn limit(&self) -> Option<u64> {
        self.read_limit.get().map(|l| (l.at)())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Journals and applies `r`; mirrors the queue's low water mark into
    /// the offset table. Returns whether `r` changed anything.
    fn record(&self, inner: &mut Inner, r: Record) -> io::Result<bool> {
        if !inner.state.applies(&r) {
            return Ok(false);
        }
        inner.journal.append(&r)?;
        inner.state.apply(&r);
        let q = r.queue();
        if let Some(s) = inner.state.queue(q) {
            self.store
                .offsets()
                .commit(&q.group, &q.topic, q.queue, s.low_water() as i64, "");
        }
        if inner.journal.wants_compaction() {
            let Inner { state, journal } = inner;
            journal.compact(state)?;
        }
        Ok(true)
    }

    /// The current state (tests, admin).
    pub fn snapshot(&self) -> PopState {
        self.lock().state.clone()
    }

    /// Pops up to `req.max` messages at `now` (ms).
    pub fn pop(&self, req: &PopRequest<'_>, now: i64) -> io::Result<PopBatch> {
        let mut batch = PopBatch {
            pop_time: now,
            invisible: req.invisible,
            ..PopBatch::default()
        };
        let max = req.max.clamp(1, MAX_POP_NUMS);
        let mut inner = self.lock();
        let mut targets: Vec<(String, u32, bool)> = Vec::new();
        if !req.orderly {
            targets.push((retry_topic(req.group, req.topic), 0, true));
        }
        match req.queue {
            Some(q) => targets.push((req.topic.to_owned(), q, false)),
            None => {
                // Start at a rotating queue so one busy queue cannot starve the rest.
                let start = (now as u64 % u64::from(req.read_queues.max(1))) as u32;
                for i in 0..req.read_queues {
                    targets.push((req.topic.to_owned(), (start + i) % req.read_queues, false));
                }
            }
        }
        for (topic, queue, retry) in targets {
            if retry && self.store.consume_queue(&topic, 0).is_none() {
                continue;
            }
            let left = max as usize - batch.len();
            let key = QueueKey::new(req.group, &topic, queue);
            let msgs = if left == 0 {
                Vec::new()
            } else {
                self.pop_queue(&mut inner, req, &key, retry, left as u32, now)?
            };
            let next = inner.state.queue(&key).map_or(0, |s| s.next);
            batch.rest += self.store.max_offset(&topic, queue).saturating_sub(next);
            if !msgs.is_empty() {
                batch.queues.push(PoppedQueue {
                    topic,
                    queue,
                    retry,
                    msgs,
                });
            }
        }
        Ok(batch)
    }

    fn pop_queue(
        &self,
        inner: &mut Inner,
        req: &PopRequest<'_>,
        key: &QueueKey,
        retry: bool,
        max: u32,
        now: i64,
    ) -> io::Result<Vec<(u64, u32, Bytes)>> {
        if inner.state.queue(key).is_none() {
            let next = self.initial_offset(key, req.from_min || retry);
            self.record(
                inner,
                Record::Position {
                    q: key.clone(),
                    next,
                    orderly: req.orderly,
                },
            )?;
        }
        let Some(s) = inner.state.queue(key) else {
            return Ok(Vec::new());
        };
        let mut msgs = Vec::new();
        let mut next = s.next;
        if req.orderly && s.locked(now) {
            return Ok(msgs);
        }
        if req.orderly && !s.inflight.is_empty() {
            // The expired batch again, in order, one delivery more.
            for (offset, i) in s.inflight.iter().take(max as usize) {
                if let Some(b) =
                    read::one(&self.store, &self.converted, &key.topic, key.queue, *offset)
                {
                    msgs.push((*offset, i.attempts + 1, b));
                }
            }
        } else {
            let scan = read::scan(
                &self.store,
                &self.converted,
                (&key.topic, key.queue),
                s.next,
                max,
                self.limit(),
                if retry {
                    None
                } else {
                    req.filter.map(|f| f as &dyn Fn(i64) -> bool)
                },
            );
            next = scan.next;
            for m in scan.msgs {
                let attempts = reconsume_times(&m.bytes);
                msgs.push((m.offset, attempts, m.bytes));
            }
        }
        if msgs.is_empty() && next == s.next {
            return Ok(msgs);
        }
        self.record(
            inner,
            Record::Pop {
                q: key.clone(),
                pop_time: now,
                invisible: req.invisible,
                orderly: req.orderly,
                msgs: msgs.iter().map(|(o, a, _)| (*o, *a)).collect(),
                next,
            },
        )?;
        Ok(msgs)
    }

    /// Where a queue never popped by the group starts: the group's
    /// committed offset if it has one (a group moving from PULL to POP
    /// continues), else the queue's minimum or end.
    fn initial_offset(&self, key: &QueueKey, from_min: bool) -> u64 {
        if let Some(c) = self
            .store
            .offsets()
            .fetch(&key.group, &key.topic, key.queue)
        {
            if c.offset >= 0 {
                return c.offset as u64;
            }
        }
        if from_min {
            self.store.min_offset(&key.topic, key.queue)
        } else {
            self.store.max_offset(&key.topic, key.queue)
        }
    }

    /// Acknowledges `offset` of the delivery at `pop_time`. False when that
    /// delivery is not in flight (acked already, revived, or redelivered).
    pub fn ack(&self, q: &QueueKey, offset: u64, pop_time: i64) -> io::Result<bool> {
        let mut inner = self.lock();
        let done = self.record(
            &mut inner,
            Record::Ack {
                q: q.clone(),
                offset,
                pop_time,
            },
        )?;
        drop(inner);
        if done {
            self.changed.notify_waiters();
        }
        Ok(done)
    }

    /// Makes `offset` (delivery `pop_time`) invisible for `invisible` ms
    /// from `now`; the new pop time (= `now`) when it was in flight.
    pub fn change_invisible(
        &self,
        q: &QueueKey,
        offset: u64,
        pop_time: i64,
        invisible: i64,
        now: i64,
    ) -> io::Result<Option<i64>> {
        let mut inner = self.lock();
        let done = self.record(
            &mut inner,
            Record::Change {
                q: q.clone(),
                offset,
                pop_time,
                new_pop_time: now,
                invisible,
            },
        )?;
        Ok(done.then_some(now))
    }

    /// Expired messages the reviver must move on at `now`.
    pub fn expired(&self, now: i64, max_attempts: &dyn Fn(&str) -> u32) -> Vec<Expired> {
        self.lock().state.expired(now, max_attempts)
    }

    /// Whether `e` is still the same in-flight delivery.
    pub fn still_inflight(&self, e: &Expired) -> bool {
        self.lock().state.applies(&Record::Revived {
            q: e.q.clone(),
            offset: e.offset,
            pop_time: e.inflight.pop_time,
        })
    }

    /// Records that `e` was moved on (after the copy was stored).
    pub fn revived(&self, e: &Expired) -> io::Result<()> {
        let mut inner = self.lock();
        self.record(
            &mut inner,
            Record::Revived {
                q: e.q.clone(),
                offset: e.offset,
                pop_time: e.inflight.pop_time,
            },
        )?;
        drop(inner);
        self.changed.notify_waiters();
        Ok(())
    }

    /// Counts a long-polling pop of (`group`, `topic`, `queue`) while the
    /// guard lives.
    pub fn park(&self, group: &str, topic: &str, queue: i32) -> Parked<'_> {
        let key = (group.to_owned(), topic.to_owned(), queue);
        *self
            .parked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default() += 1;
        Parked { engine: self, key }
    }

    /// Long-polling pops parked on (`group`, `topic`, `queue`).
    pub fn parked(&self, group: &str, topic: &str, queue: i32) -> usize {
        let key = (group.to_owned(), topic.to_owned(), queue);
        self.parked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .copied()
            .unwrap_or(0)
    }

    /// Forces the journal to disk.
    pub fn sync(&self) -> io::Result<()> {
        self.lock().journal.sync()
    }

    /// Whether a pop of `group` on (`topic`, `queue`) at `now` would find
    /// something (NOTIFICATION, long polling).
    pub fn has_messages(
        &self,
        group: &str,
        topic: &str,
        queues: &[u32],
        orderly: bool,
        now: i64,
    ) -> bool {
        let inner = self.lock();
        let retry = retry_topic(group, topic);
        let pending = |t: &str, q: u32| match inner.state.queue(&QueueKey::new(group, t, q)) {
            Some(s) if orderly && s.locked(now) => false,
            Some(s) if orderly && !s.inflight.is_empty() => true,
            Some(s) => self.store.max_offset(t, q) > s.next,
            None => self.store.max_offset(t, q) > self.store.min_offset(t, q),
        };
        (!orderly && pending(&retry, 0)) || queues.iter().any(|q| pending(topic, *q))
    }

    /// Waits up to `timeout` for new data in `queues` of `topic` or its
    /// retry topic, or a released orderly queue.
    pub async fn wait(&self, group: &str, topic: &str, queues: &[u32], timeout: Duration) {
        let mut set = tokio::task::JoinSet::new();
        let mut watch = |t: String, q: u32, from: u64| {
            let store = self.store.clone();
            set.spawn(async move { store.wait_for_data(&t, q, from, timeout).await });
        };
        let retry = retry_topic(group, topic);
        // Only an existing retry queue is watched (watching opens it); a
        // revive into a new one wakes `changed`.
        if self.store.consume_queue(&retry, 0).is_some() {
            watch(retry.clone(), 0, self.store.max_offset(&retry, 0));
        }
        for q in queues {
            watch(topic.to_owned(), *q, self.store.max_offset(topic, *q));
        }
        // Stored but above the read limit: readable with a replica's ack.
        let above = self
            .read_limit
            .get()
            .filter(|l| (l.at)() < self.store.log_end());
        tokio::select! {
            Some(_) = set.join_next() => {}
            () = self.changed.notified() => {}
            () = async { if let Some(l) = above { (l.advanced)(timeout).await } }, if above.is_some() => {}
            () = tokio::time::sleep(timeout) => {}
        }
        set.abort_all();
    }
}

/// The reconsume times of a stored message (0 if unreadable).
fn reconsume_times(bytes: &Bytes) -> u32 {
    rokka_protocols::remoting::message::decode_message(bytes)
        .map_or(0, |(m, _)| m.reconsume_times.max(0) as u32)
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod engine_tests;
