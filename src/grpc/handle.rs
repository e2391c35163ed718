//! Receipt handles: rokka's own format, `rk1_<popTime>_<invisibleMs>_<queue>_<offset>_<topic>`.
//! The topic is the one the message was popped from (the POP retry topic
//! for a redelivery), last because topics may contain `_`. With the group of
//! the request, it names one delivery in the POP engine.

use super::pb::Code;
use super::Failure;
use crate::broker::pop::state::QueueKey;

const PREFIX: &str = "rk1";

/// One delivery of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Receipt {
    pub(crate) pop_time: i64,
    pub(crate) invisible: i64,
    pub(crate) queue: u32,
    pub(crate) offset: u64,
    pub(crate) topic: String,
}

impl Receipt {
    pub(crate) fn encode(&self) -> String {
        format!(
            "{PREFIX}_{}_{}_{}_{}_{}",
            self.pop_time, self.invisible, self.queue, self.offset, self.topic
        )
    }

    pub(crate) fn parse(s: &str) -> Result<Receipt, Failure> {
        let bad = || {
            Failure::new(
                Code::InvalidReceiptHandle,
                format!("invalid receipt handle {s:?}"),
            )
        };
        let mut it = s.splitn(6, '_');
        if it.next() != Some(PREFIX) {
            return Err(bad());
        }
        let mut num = || it.next().ok_or_else(bad);
        let pop_time = num()?.parse().map_err(|_| bad())?;
        let invisible = num()?.parse().map_err(|_| bad())?;
        let queue = num()?.parse().map_err(|_| bad())?;
        let offset = num()?.parse().map_err(|_| bad())?;
        let topic = num()?.to_owned();
        if topic.is_empty() {
            return Err(bad());
        }
        Ok(Receipt {
            pop_time,
            invisible,
            queue,
            offset,
            topic,
        })
    }

    pub(crate) fn key(&self, group: &str) -> QueueKey {
        QueueKey::new(group, &self.topic, self.queue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let r = Receipt {
            pop_time: 1_700_000_000_000,
            invisible: 30_000,
            queue: 3,
            offset: 42,
            topic: "%RETRY%g_t_x".into(),
        };
        assert_eq!(Receipt::parse(&r.encode()).unwrap(), r);
        for s in [
            "",
            "rk1",
            "rk1_1_2_3_4_",
            "rk2_1_2_3_4_t",
            "rk1_a_2_3_4_t",
            "rk1_1_2_-3_4_t",
        ] {
            assert!(Receipt::parse(s).is_err(), "{s}");
        }
    }
}
