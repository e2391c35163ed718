//! Timer messages (ADR 019), the put-side rules and the in-memory index.
//!
//! A message carrying `TIMER_DELAY_SEC`, `TIMER_DELAY_MS` or
//! `TIMER_DELIVER_MS` (upstream 5.x `HookUtils.transformTimerMessage`) and
//! due later than now is parked in [`TIMER_TOPIC`] queue 0 with
//! `TIMER_OUT_MS`/`REAL_TOPIC`/`REAL_QID`; [`Timers`] indexes the undelivered
//! ones by (due ms, queue 0 offset). `timer_task.rs` rebuilds the index at
//! start and re-puts each message to its real topic when due.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge, Registry};
use rokka_store::Store;
use tokio::sync::Notify;

use super::put::{park_props, Parking, PutError};

/// Timer messages (ADR 019): `timerWheelEnable`, `timerMaxDelaySec`,
/// `timerPrecisionMs` (default 1 ms here, 1000 upstream) and
/// `rokka.timerMaxPending` (flow control).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// Accept timer messages at all.
    pub enable: bool,
    /// Farthest delivery time accepted, seconds ahead.
    pub max_delay_sec: u64,
    /// Due times are rounded down to this, ms.
    pub precision_ms: u64,
    /// Pending timers above which sends are refused.
    pub max_pending: usize,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            enable: true,
            max_delay_sec: 259_200,
            precision_ms: 1,
            max_pending: 5_000_000,
        }
    }
}

/// The topic timer messages wait in: queue 0 holds the parked messages,
/// queue 1 one "delivered" marker per re-put (body: the queue 0 offset).
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// The property holding a parked message's due time (epoch ms).
pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
/// The properties that ask for a timer, in precedence order.
pub const TIMER_PROPS: [&str; 3] = ["TIMER_DELAY_SEC", "TIMER_DELAY_MS", "TIMER_DELIVER_MS"];

/// What the timer rules make of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No timer property, or already parked or delivered (`TIMER_OUT_MS`).
    NotTimer,
    /// Due now or in the past: stored normally.
    DueNow,
    /// Parked until this epoch ms.
    Park(i64),
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn prop<'a>(props: &[(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    props.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// Applies upstream's rules to a message's properties at `now`.
pub fn decide(props: &[(&str, &str)], cfg: &TimerConfig, now: i64) -> Result<Decision, PutError> {
    if prop(props, TIMER_OUT_MS).is_some() || TIMER_PROPS.iter().all(|k| prop(props, k).is_none()) {
        return Ok(Decision::NotTimer);
    }
    if !cfg.enable {
        return Err(PutError::TimerNotEnabled);
    }
    let illegal = || PutError::TimerIllegal(cfg.max_delay_sec.saturating_mul(1000));
    let long = |k: &str| prop(props, k).map(|v| v.parse::<i64>().map_err(|_| illegal()));
    let due = if let Some(sec) = long("TIMER_DELAY_SEC") {
        sec?.checked_mul(1000).and_then(|ms| now.checked_add(ms))
    } else if let Some(ms) = long("TIMER_DELAY_MS") {
        now.checked_add(ms?)
    } else {
        long("TIMER_DELIVER_MS").transpose()?
    }
    .ok_or_else(illegal)?;
    if due <= now {
        return Ok(Decision::DueNow);
    }
    if (due - now) as u64 > cfg.max_delay_sec.saturating_mul(1000) {
        return Err(illegal());
    }
    // Upstream rounds down to the precision and moves an exact multiple one
    // step earlier; at 1 ms precision (rokka's default) the time is exact.
    let p = cfg.precision_ms.max(1) as i64;
    let due = if p == 1 {
        due
    } else if due % p == 0 {
        due - p
    } else {
        due / p * p
    };
    Ok(Decision::Park(due))
}

/// Rewrites a message for the timer topic: (topic, queue, properties).
pub fn park(
    store: &Store,
    due: i64,
    topic: &str,
    queue_id: u32,
    props: &str,
) -> Result<(String, u32, String), PutError> {
    let parking = Parking {
        topic: TIMER_TOPIC,
        queues: 2,
        due: (TIMER_OUT_MS, due.to_string()),
        drop: &[TIMER_OUT_MS],
    };
    let p = park_props(store, parking, topic, queue_id, props)?;
    Ok((TIMER_TOPIC.to_owned(), 0, p))
}

/// The metrics of the timer.
#[derive(Debug, Clone)]
pub struct TimerMetrics {
    /// `rokka_timer_pending`.
    pub pending: IntGauge,
    /// `rokka_timer_delivered_total`.
    pub delivered: IntCounter,
    /// `rokka_timer_lateness_seconds`.
    pub lateness: Histogram,
}

impl TimerMetrics {
    fn new(registry: &Registry) -> TimerMetrics {
        let m = TimerMetrics {
            pending: IntGauge::new("rokka_timer_pending", "Timer messages parked, not yet due")
                .expect("valid metric"),
            delivered: IntCounter::new(
                "rokka_timer_delivered_total",
                "Timer messages re-put to their real topic",
            )
            .expect("valid metric"),
            lateness: Histogram::with_opts(
                HistogramOpts::new(
                    "rokka_timer_lateness_seconds",
                    "Delivery time minus due time of timer messages",
                )
                .buckets(vec![
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
                ]),
            )
            .expect("valid metric"),
        };
        // A second broker on one registry (tests) keeps the first's series.
        let _ = registry.register(Box::new(m.pending.clone()));
        let _ = registry.register(Box::new(m.delivered.clone()));
        let _ = registry.register(Box::new(m.lateness.clone()));
        m
    }
}

#[derive(Debug, Default)]
struct State {
    /// Undelivered: (due ms, queue 0 offset) → CommitLog offset.
    by_due: BTreeMap<(i64, u64), u64>,
    /// Their queue 0 offsets (the low-water mark is the smallest).
    offsets: BTreeSet<u64>,
    /// One past the highest queue 0 offset indexed.
    next: u64,
    /// Parks appended (or being appended) but not yet indexed.
    inflight: usize,
}

/// The index of undelivered timer messages.
#[derive(Debug)]
pub struct Timers {
    state: Mutex<State>,
    wake: Notify,
    max_pending: usize,
    /// The timer's metrics.
    pub metrics: TimerMetrics,
}

/// Held while a park is appended: the low-water mark does not move meanwhile.
#[derive(Debug)]
pub struct ParkGuard<'a>(&'a Timers);

impl Drop for ParkGuard<'_> {
    fn drop(&mut self) {
        self.0.lock().inflight -= 1;
    }
}

impl Timers {
    /// An empty index whose low-water mark starts at `next`.
    pub fn new(cfg: &TimerConfig, registry: &Registry, next: u64) -> Timers {
        Timers {
            state: Mutex::new(State {
                next,
                ..State::default()
            }),
            wake: Notify::new(),
            max_pending: cfg.max_pending,
            metrics: TimerMetrics::new(registry),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves a park, refused when `rokka.timerMaxPending` are waiting.
    pub fn begin_park(&self) -> Result<ParkGuard<'_>, PutError> {
        let mut st = self.lock();
        if st.by_due.len() + st.inflight >= self.max_pending {
            return Err(PutError::TimerFlowControl(self.max_pending));
        }
        st.inflight += 1;
        Ok(ParkGuard(self))
    }

    /// Indexes a parked message and wakes the delivery task if it is the
    /// earliest.
    pub fn add(&self, due: i64, q_offset: u64, phy: u64) {
        let mut st = self.lock();
        let earliest = st.by_due.keys().next().is_none_or(|(d, _)| due < *d);
        st.by_due.insert((due, q_offset), phy);
        st.offsets.insert(q_offset);
        st.next = st.next.max(q_offset + 1);
        self.metrics.pending.set(st.by_due.len() as i64);
        drop(st);
        if earliest {
            self.wake.notify_one();
        }
    }

    /// The earliest due time.
    pub fn first_due(&self) -> Option<i64> {
        self.lock().by_due.keys().next().map(|(d, _)| *d)
    }

    /// Up to `limit` entries due at `now`: (due, queue 0 offset, CommitLog offset).
    pub fn due(&self, now: i64, limit: usize) -> Vec<(i64, u64, u64)> {
        self.lock()
            .by_due
            .range(..(now.saturating_add(1), 0))
            .take(limit)
            .map(|(&(d, q), &p)| (d, q, p))
            .collect()
    }

    /// Drops a delivered entry; returns the low-water mark to commit, if it
    /// can move now (no park is half-way).
    pub fn delivered(&self, due: i64, q_offset: u64) -> Option<u64> {
        let mut st = self.lock();
        st.by_due.remove(&(due, q_offset));
        st.offsets.remove(&q_offset);
        self.metrics.pending.set(st.by_due.len() as i64);
        (st.inflight == 0).then(|| st.offsets.first().copied().unwrap_or(st.next))
    }

    /// Moves an entry whose delivery failed to `retry_at`.
    pub fn postpone(&self, due: i64, q_offset: u64, retry_at: i64) {
        let mut st = self.lock();
        if let Some(phy) = st.by_due.remove(&(due, q_offset)) {
            st.by_due.insert((retry_at, q_offset), phy);
        }
    }

    /// Replaces the entries below queue 0 offset `end` with `fresh` (a scan
    /// of the store up to `end`); parks indexed meanwhile at or above `end`
    /// stay.
    pub fn resync(&self, fresh: Vec<(i64, u64, u64)>, end: u64) {
        let mut st = self.lock();
        st.by_due.retain(|(_, q), _| *q >= end);
        st.offsets.retain(|q| *q >= end);
        for (due, q, phy) in fresh {
            st.by_due.insert((due, q), phy);
            st.offsets.insert(q);
        }
        st.next = st.next.max(end);
        self.metrics.pending.set(st.by_due.len() as i64);
        drop(st);
        self.wake.notify_one();
    }

    /// Pending entries.
    pub fn len(&self) -> usize {
        self.lock().by_due.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Resolves when a new earliest entry was added.
    pub async fn changed(&self) {
        self.wake.notified().await;
    }
}

#[cfg(test)]
#[path = "timer_tests.rs"]
mod tests;
