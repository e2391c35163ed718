//! The POP state machine, without I/O: per (group, topic, queue) the next
//! offset never popped and the popped-but-unacknowledged messages with
//! their invisible deadlines. Every change is a [`Record`]; the engine
//! journals a record before it applies it, and a restart replays the
//! journal through the same [`PopState::apply`], so the state after a
//! restart is exactly the state of the last journaled record.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// One (group, topic, queue). `topic` is the topic the messages are stored
/// in: the consumed topic or the group's POP retry topic for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QueueKey {
    /// Consumer group.
    pub group: String,
    /// Topic the offsets belong to.
    pub topic: String,
    /// Queue id.
    pub queue: u32,
}

impl QueueKey {
    /// A key from its parts.
    pub fn new(group: &str, topic: &str, queue: u32) -> QueueKey {
        QueueKey {
            group: group.to_owned(),
            topic: topic.to_owned(),
            queue,
        }
    }
}

/// A popped message that was not acknowledged yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inflight {
    /// When it was popped (or its invisible time last changed), ms since
    /// the epoch; acks must name it (a late ack of an older delivery is
    /// ignored).
    pub pop_time: i64,
    /// Invisible time from `pop_time`, ms.
    pub invisible: i64,
    /// Deliveries before this one (the message's reconsume times).
    pub attempts: u32,
}

impl Inflight {
    /// When the message becomes visible again.
    pub fn deadline(&self) -> i64 {
        self.pop_time.saturating_add(self.invisible)
    }
}

/// The POP position of one queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueState {
    /// The next offset never popped.
    pub next: u64,
    /// Popped, unacknowledged messages by queue offset.
    pub inflight: BTreeMap<u64, Inflight>,
    /// Consumed by orderly POP: an expired batch is redelivered from this
    /// queue in order instead of being revived to the retry topic.
    pub orderly: bool,
}

impl QueueState {
    /// The lowest offset not done yet: what the classic offset table shows
    /// for the group (a PULL consumer taking over misses nothing).
    pub fn low_water(&self) -> u64 {
        self.inflight
            .keys()
            .next()
            .map_or(self.next, |o| (*o).min(self.next))
    }

    /// Orderly POP: the queue is held by a batch that is still invisible.
    pub fn locked(&self, now: i64) -> bool {
        self.orderly && self.inflight.values().any(|i| i.deadline() > now)
    }
}

/// One change of the state; also the journal's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "lowercase")]
pub enum Record {
    /// Messages handed out (new ones, or an orderly redelivery), and the
    /// queue's next offset afterwards.
    Pop {
        /// The queue.
        q: QueueKey,
        /// Pop time, ms.
        pop_time: i64,
        /// Invisible time, ms.
        invisible: i64,
        /// Orderly POP.
        orderly: bool,
        /// (offset, deliveries before this one) of every message.
        msgs: Vec<(u64, u32)>,
        /// The next offset never popped.
        next: u64,
    },
    /// A consumer acknowledged `offset` of the delivery at `pop_time`.
    Ack {
        /// The queue.
        q: QueueKey,
        /// Queue offset.
        offset: u64,
        /// Pop time the ack names.
        pop_time: i64,
    },
    /// A consumer moved the deadline of `offset` (delivery `pop_time`): it
    /// is now invisible for `invisible` ms from `new_pop_time`.
    Change {
        /// The queue.
        q: QueueKey,
        /// Queue offset.
        offset: u64,
        /// Pop time the request names.
        pop_time: i64,
        /// The new pop time.
        new_pop_time: i64,
        /// The new invisible time.
        invisible: i64,
    },
    /// The broker moved an expired message on (to the retry topic or the
    /// DLQ): it is no longer in flight here.
    Revived {
        /// The queue.
        q: QueueKey,
        /// Queue offset.
        offset: u64,
        /// Pop time of the delivery that expired.
        pop_time: i64,
    },
    /// The queue's position (journal compaction, first pop of a queue).
    Position {
        /// The queue.
        q: QueueKey,
        /// The next offset never popped.
        next: u64,
        /// Orderly POP.
        orderly: bool,
    },
}

impl Record {
    /// The queue the record is about.
    pub fn queue(&self) -> &QueueKey {
        match self {
            Record::Pop { q, .. }
            | Record::Ack { q, .. }
            | Record::Change { q, .. }
            | Record::Revived { q, .. }
            | Record::Position { q, .. } => q,
        }
    }
}

/// An expired message the broker must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// The queue.
    pub q: QueueKey,
    /// Queue offset.
    pub offset: u64,
    /// The expired delivery.
    pub inflight: Inflight,
}

/// Every queue's POP state.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PopState {
    queues: HashMap<QueueKey, QueueState>,
}

impl PopState {
    /// The state of `q`, if it was ever popped.
    pub fn queue(&self, q: &QueueKey) -> Option<&QueueState> {
        self.queues.get(q)
    }

    /// Every queue (unordered).
    pub fn queues(&self) -> impl Iterator<Item = (&QueueKey, &QueueState)> {
        self.queues.iter()
    }

    /// Whether `r` would change anything (an ack or change naming a
    /// delivery that is gone is a no-op and is not journaled).
    pub fn applies(&self, r: &Record) -> bool {
        let found = |q: &QueueKey, offset: &u64, pop_time: &i64| {
            self.queues
                .get(q)
                .and_then(|s| s.inflight.get(offset))
                .is_some_and(|i| i.pop_time == *pop_time)
        };
        match r {
            Record::Pop { .. } | Record::Position { .. } => true,
            Record::Ack {
                q,
                offset,
                pop_time,
            }
            | Record::Change {
                q,
                offset,
                pop_time,
                ..
            }
            | Record::Revived {
                q,
                offset,
                pop_time,
            } => found(q, offset, pop_time),
        }
    }

    /// Applies `r`; returns whether it changed the state.
    pub fn apply(&mut self, r: &Record) -> bool {
        if !self.applies(r) {
            return false;
        }
        match r {
            Record::Pop {
                q,
                pop_time,
                invisible,
                orderly,
                msgs,
                next,
            } => {
                let s = self.queues.entry(q.clone()).or_default();
                s.orderly = *orderly;
                s.next = s.next.max(*next);
                for (offset, attempts) in msgs {
                    s.inflight.insert(
                        *offset,
                        Inflight {
                            pop_time: *pop_time,
                            invisible: *invisible,
                            attempts: *attempts,
                        },
                    );
                }
            }
            Record::Ack { q, offset, .. } | Record::Revived { q, offset, .. } => {
                if let Some(s) = self.queues.get_mut(q) {
                    s.inflight.remove(offset);
                }
            }
            Record::Change {
                q,
                offset,
                new_pop_time,
                invisible,
                ..
            } => {
                if let Some(i) = self
                    .queues
                    .get_mut(q)
                    .and_then(|s| s.inflight.get_mut(offset))
                {
                    i.pop_time = *new_pop_time;
                    i.invisible = *invisible;
                }
            }
            Record::Position { q, next, orderly } => {
                let s = self.queues.entry(q.clone()).or_default();
                s.next = *next;
                s.orderly = *orderly;
            }
        }
        true
    }

    /// Messages past their deadline at `now` that the broker must move on:
    /// every expired message of an unordered queue (to the retry topic or
    /// the DLQ), and of an orderly queue those with `max_attempts`
    /// deliveries behind them (to the DLQ; the others are redelivered in
    /// order by the next pop). `max_attempts` is per group.
    pub fn expired(&self, now: i64, max_attempts: &dyn Fn(&str) -> u32) -> Vec<Expired> {
        let mut out = Vec::new();
        for (q, s) in &self.queues {
            let max = max_attempts(&q.group);
            for (offset, i) in &s.inflight {
                if i.deadline() <= now && (!s.orderly || i.attempts >= max) {
                    out.push(Expired {
                        q: q.clone(),
                        offset: *offset,
                        inflight: *i,
                    });
                }
            }
        }
        out.sort_by(|a, b| (&a.q, a.offset).cmp(&(&b.q, b.offset)));
        out
    }

    /// The records that rebuild this state (journal compaction).
    pub fn snapshot(&self) -> Vec<Record> {
        let mut keys: Vec<&QueueKey> = self.queues.keys().collect();
        keys.sort();
        let mut out = Vec::new();
        for q in keys {
            let s = &self.queues[q];
            out.push(Record::Position {
                q: q.clone(),
                next: s.next,
                orderly: s.orderly,
            });
            for (offset, i) in &s.inflight {
                out.push(Record::Pop {
                    q: q.clone(),
                    pop_time: i.pop_time,
                    invisible: i.invisible,
                    orderly: s.orderly,
                    msgs: vec![(*offset, i.attempts)],
                    next: s.next,
                });
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
