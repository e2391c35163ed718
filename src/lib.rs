//! rokka: one broker process speaking the RocketMQ remoting and Kafka
//! protocols over one RocketMQ-style store (`rokka-store`), with the codecs in
//! `rokka-protocols`. This crate is the only one that sees both.
//!
//! Layout, from process start down:
//!
//! ```text
//! main.rs      CLI (clap), config resolution, logging, the tokio runtime
//! config.rs    BrokerConfig: defaults < broker.conf < ROKKA_* env < flags
//!   config/properties.rs  Java-properties reader (broker.conf syntax)
//!   config/keys.rs        the table of RocketMQ, Kafka and rokka.* keys
//! startup.rs   lifecycle: data dir, store open/recovery, signals, shutdown
//! verify.rs    `rokka verify [--repair]`: offline check of a stopped data dir
//! admin/       `rokka admin ...`: operators' CLI over the remoting protocol
//! http.rs      /healthz and /metrics on a tiny HTTP/1.1 responder
//! metrics.rs   the binary's Prometheus metrics
//! broker/      the protocol-neutral core both front-ends call (topics, ...)
//! remoting/    the RocketMQ front-end: NameServer and broker listeners
//! kafka/       the Kafka front-end
//! grpc/        the gRPC front-end of the RocketMQ 5.x SDKs (shares remoting's Ctx)
//! ha/          CommitLog replication to slaves (master and slave sides)
//! security/    principals, SCRAM credentials, ACLs shared by both front-ends
//! ```

pub mod admin;
pub mod broker;
pub mod cluster;
pub mod config;
pub mod grpc;
pub mod ha;
pub mod http;
pub mod kafka;
pub mod metrics;
pub mod net;
pub mod remoting;
pub mod security;
pub mod startup;
pub mod verify;
