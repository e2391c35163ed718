//! Delay levels (rocketmq-remoting §10.2), the put-side half: a message with
//! `DELAY` = n > 0 is parked in `SCHEDULE_TOPIC_XXXX` queue n − 1 with
//! `REAL_TOPIC`/`REAL_QID`. The remoting scheduler (`remoting/schedule.rs`)
//! re-puts it to its real topic once `store time + level delay` has passed.

use rokka_protocols::remoting::message::decode_properties;
use rokka_store::Store;

use super::put::{park_props, Parking, PutError};

/// The topic delayed messages wait in.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// The 18 standard delay levels, in seconds.
pub const LEVELS: [u64; 18] = [
    1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200,
];

/// The delay level in `props`, clamped to 1..=18; `None` when absent or ≤ 0.
pub fn delay_level(props: &str) -> Option<u32> {
    decode_properties(props)
        .into_iter()
        .rev()
        .find(|(k, _)| *k == "DELAY")
        .and_then(|(_, v)| v.parse::<i64>().ok())
        .filter(|l| *l > 0)
        .map(|l| l.min(LEVELS.len() as i64) as u32)
}

/// Rewrites a message for the schedule topic: returns the (topic, queue id,
/// properties) to store it under. Timer properties are dropped: a delay
/// level wins over them (upstream `HookUtils.checkIfTimerMessage`).
pub fn park(
    store: &Store,
    level: u32,
    topic: &str,
    queue_id: u32,
    props: &str,
) -> Result<(String, u32, String), PutError> {
    const DROP: [&str; 4] = [
        "DELAY",
        "TIMER_DELAY_SEC",
        "TIMER_DELAY_MS",
        "TIMER_DELIVER_MS",
    ];
    let parking = Parking {
        topic: SCHEDULE_TOPIC,
        queues: LEVELS.len() as u32,
        due: ("DELAY", level.to_string()),
        drop: &DROP,
    };
    let p = park_props(store, parking, topic, queue_id, props)?;
    Ok((SCHEDULE_TOPIC.to_owned(), level - 1, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_clamped_and_non_positive_ignored() {
        assert_eq!(delay_level("DELAY\u{1}3\u{2}"), Some(3));
        assert_eq!(delay_level("DELAY\u{1}99\u{2}"), Some(18));
        assert_eq!(delay_level("DELAY\u{1}0\u{2}"), None);
        assert_eq!(delay_level("DELAY\u{1}x\u{2}"), None);
        assert_eq!(delay_level("TAGS\u{1}a\u{2}"), None);
    }
}
