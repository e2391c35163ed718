//! Rate-limited WARN logging for what a client can trigger at will (refused
//! frames and connections): at most N lines per second across the process;
//! the next line logged after a quiet period carries the count of lines
//! suppressed since the last one, and [`report_suppressed`] logs the count
//! of a burst that no later line reports. Counting in metrics is never limited.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines allowed per second (`rokka.rejectedLogsPerSecond`); set at start-up.
static PER_SECOND: AtomicU32 = AtomicU32::new(10);

static WINDOW: Mutex<Option<Window>> = Mutex::new(None);

#[derive(Debug)]
struct Window {
    started: Instant,
    logged: u32,
    suppressed: u64,
}

/// Sets the number of lines allowed per second (0 logs none).
pub fn set_per_second(n: u32) {
    PER_SECOND.store(n, Ordering::Relaxed);
}

/// Whether a line may be logged now; `Some(n)` with the number of lines
/// suppressed before it (to be logged with it), `None` if this one is suppressed.
pub fn allow() -> Option<u64> {
    let mut w = WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    allow_at(&mut w, Instant::now(), PER_SECOND.load(Ordering::Relaxed))
}

fn allow_at(w: &mut Option<Window>, now: Instant, per_second: u32) -> Option<u64> {
    let w = w.get_or_insert(Window {
        started: now,
        logged: 0,
        suppressed: 0,
    });
    if now.saturating_duration_since(w.started) >= Duration::from_secs(1) {
        w.started = now;
        w.logged = 0;
    }
    if w.logged < per_second {
        w.logged += 1;
        Some(std::mem::take(&mut w.suppressed))
    } else {
        w.suppressed += 1;
        None
    }
}

/// Logs a WARN line built by `line` if the limiter allows it; `line` gets
/// the number of lines suppressed before this one.
pub fn warn(line: impl FnOnce(u64)) {
    if let Some(suppressed) = allow() {
        line(suppressed);
    }
}

/// Once a second, logs how many lines were suppressed since the last logged
/// one if no line has carried that count yet (the end of a burst). Runs
/// until the runtime stops.
pub async fn report_suppressed() {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let n = {
            let mut w = WINDOW.lock().unwrap_or_else(|e| e.into_inner());
            take_stale(&mut w, Instant::now())
        };
        if n > 0 {
            tracing::warn!(
                suppressed = n,
                "rate-limited log lines about refused frames and connections were suppressed"
            );
        }
    }
}

/// The suppressed count of a window that has ended, taken out of it.
fn take_stale(w: &mut Option<Window>, now: Instant) -> u64 {
    match w {
        Some(w) if now.saturating_duration_since(w.started) >= Duration::from_secs(1) => {
            std::mem::take(&mut w.suppressed)
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_n_per_second_then_reports_the_suppressed() {
        let t0 = Instant::now();
        let mut w = None;
        let got: Vec<_> = (0..10).map(|_| allow_at(&mut w, t0, 3)).collect();
        assert_eq!(&got[..3], &[Some(0), Some(0), Some(0)]);
        assert!(got[3..].iter().all(Option::is_none));
        let next = allow_at(&mut w, t0 + Duration::from_millis(1001), 3);
        assert_eq!(next, Some(7));
        assert_eq!(
            allow_at(&mut w, t0 + Duration::from_millis(1002), 3),
            Some(0)
        );
        assert_eq!(allow_at(&mut w, t0 + Duration::from_millis(3000), 0), None);
        assert_eq!(take_stale(&mut w, t0 + Duration::from_millis(3500)), 0);
        assert_eq!(take_stale(&mut w, t0 + Duration::from_millis(4000)), 1);
        assert_eq!(take_stale(&mut w, t0 + Duration::from_millis(4001)), 0);
    }
}
