//! rokka-protocols: sans-io codecs for the RocketMQ remoting protocol and the
//! Kafka protocol. Bytes in, typed values out; nom for decoding, `BufMut` for
//! encoding; no tokio, no store.
//!
//! ```text
//! sql92/      SQL92 message selectors (parse once, evaluate per message)
//! remoting/   frame, JSON and ROCKETMQ binary headers, request/response codes,
//!             the stored-message codec, the batch-send body
//! kafka/      request/response headers, one module per API, record formats
//!             (MessageSet v0/v1, RecordBatch v2), compression
//! ```

// Parsers must not panic on input (STYLE.md §5); tests may unwrap.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

pub mod kafka;
pub mod remoting;
pub mod sql92;
