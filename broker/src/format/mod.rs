//! Cross-protocol record mapping (issue 5), like kop's `EntryFormatter`:
//! pure functions between the two entry layouts of the store.
//!
//! * [`to_kafka`]: a RocketMQ stored message → a one-record uncompressed v2
//!   batch (Kafka Fetch of RocketMQ-written entries);
//! * [`to_rocketmq`]: a stored Kafka batch → one RocketMQ stored message per
//!   record (PULL_MESSAGE / LITE_PULL of Kafka-written entries), and the
//!   index keys and tags codes the Kafka produce path stores with a batch.
//!
//! The table with every decision is `docs/mapping.md` (ADR 004). In short:
//! KEYS ↔ record key (the whole KEYS string, spaces included; each
//! space-separated word is indexed), property `TAGS` ↔ header `TAGS`, other
//! properties ↔ headers of the same name, bornTimestamp ↔ CreateTime, body ↔
//! value (zlib bodies inflated for Kafka; Kafka batches decompressed for
//! RocketMQ). Broker-internal properties in [`HIDDEN_PROPERTIES`] are not
//! shown to Kafka readers; UNIQ_KEY and the rest are.

pub mod cache;
pub mod to_kafka;
pub mod to_rocketmq;

#[cfg(test)]
mod tests;

/// The RocketMQ property that maps to the Kafka record key.
pub const PROP_KEYS: &str = "KEYS";
/// The RocketMQ property and the Kafka header name that carry the tag.
pub const TAGS_HEADER: &str = rokka_protocols::kafka::records::TAGS_HEADER;
/// Properties never shown to Kafka readers: send-time or pull-time
/// instructions with no meaning for a stored record.
pub const HIDDEN_PROPERTIES: &[&str] = &[
    "WAIT",
    "CLUSTER",
    "MIN_OFFSET",
    "MAX_OFFSET",
    "TRACE_ON",
    "MSG_REGION",
];

/// Why an entry could not be converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatError(pub &'static str);

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for FormatError {}
