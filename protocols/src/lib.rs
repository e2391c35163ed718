//! rokka-protocols: sans-io codecs for the RocketMQ remoting protocol and the
//! Kafka protocol. Bytes in, typed values out; no tokio, no store. The
//! front-end issues fill in `remoting/` and `kafka/`.
