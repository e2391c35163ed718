//! The gRPC front-end for the RocketMQ 5.x SDKs (ADR 021): the
//! `apache.rocketmq.v2.MessagingService` of `proto/`, served by tonic on its
//! own port (`grpcServerPort`, default 8081) in front of the same broker core
//! the remoting front-end uses. It shares the remoting [`Ctx`] (topics,
//! transactions, queue round-robin), so a message sent over gRPC is the same
//! stored record a remoting client reads, and POP deliveries share one
//! engine.
//!
//! One file per group of RPCs: `route.rs` (QueryRoute, QueryAssignment;
//! `groups.rs` for the broker groups of a topic in cluster mode),
//! `send.rs`, `receive.rs`, `ack.rs` (Ack, ChangeInvisibleDuration, DLQ),
//! `telemetry.rs` (Telemetry, Heartbeat, NotifyClientTermination),
//! `transaction.rs`, `offset.rs` (QueryOffset, GetOffset, UpdateOffset,
//! PullMessage); `listener.rs` (TLS as on the remoting ports) and `auth.rs`
//! (RocketMQ ACL 1.0) in front of them (ADR 027).

mod ack;
mod auth;
mod groups;
mod handle;
mod listener;
mod message;
mod metrics;
mod offset;
mod orphans;
mod receive;
mod route;
mod send;
mod service;
mod telemetry;
mod transaction;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::net::tls::ListenerTls;
use crate::remoting::context::Ctx;
use crate::startup::{bound_addr, StartupError};

/// The generated protobuf types, server and client.
#[allow(
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]
pub mod pb {
    tonic::include_proto!("apache.rocketmq.v2");
}

/// Largest request or response message accepted (a 4 MiB body + headers).
pub const MAX_MESSAGE_SIZE: usize = 5 * 1024 * 1024;

/// A status of the RocketMQ API (not the gRPC transport status).
pub(crate) fn status(code: pb::Code, message: impl Into<String>) -> Option<pb::Status> {
    Some(pb::Status {
        code: code as i32,
        message: message.into(),
    })
}

/// `OK`.
pub(crate) fn ok() -> Option<pb::Status> {
    status(pb::Code::Ok, "OK")
}

/// A failed RPC: the API code and its message.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) pb::Code, pub(crate) String);

impl Failure {
    pub(crate) fn new(code: pb::Code, message: impl Into<String>) -> Failure {
        Failure(code, message.into())
    }

    pub(crate) fn bad(message: impl Into<String>) -> Failure {
        Failure(pb::Code::BadRequest, message.into())
    }

    pub(crate) fn status(&self) -> Option<pb::Status> {
        status(self.0, self.1.clone())
    }
}

/// Remoting handler errors → API codes.
impl From<crate::remoting::context::HandlerError> for Failure {
    fn from(e: crate::remoting::context::HandlerError) -> Failure {
        use rokka_protocols::remoting::ResponseCode as R;
        let code = match e.code {
            R::TOPIC_NOT_EXIST => pb::Code::TopicNotFound,
            R::NO_PERMISSION => pb::Code::Forbidden,
            R::MESSAGE_ILLEGAL => pb::Code::BadRequest,
            R::SERVICE_NOT_AVAILABLE => pb::Code::HaNotAvailable,
            _ => pb::Code::InternalServerError,
        };
        Failure(code, e.remark)
    }
}

/// The name of a resource (namespaces are not used).
pub(crate) fn name(r: Option<&pb::Resource>) -> Result<&str, Failure> {
    match r.map(|r| r.name.as_str()) {
        Some(n) if !n.is_empty() => Ok(n),
        _ => Err(Failure::bad("a resource name is required")),
    }
}

/// Serves the bound gRPC port (bound at start-up, before the cluster
/// registration that advertises it) until shutdown.
pub(crate) fn start(ctx: Arc<Ctx>, listener: TcpListener) -> Result<JoinHandle<()>, StartupError> {
    let addr = bound_addr(&listener, "grpc", ctx.broker.config.grpc_listen)?;
    let t = &ctx.broker.config.security.remoting_tls;
    let tls =
        ListenerTls::with_alpn("grpc", t.mode, t.settings.as_ref(), &[b"h2"]).map_err(|e| {
            StartupError::Tls {
                what: "grpc",
                reason: e.to_string(),
            }
        })?;
    let metrics = metrics::GrpcMetrics::register(&ctx.broker.registry)?;
    info!("grpc listening on {addr}");
    let advertised = SocketAddr::new(ctx.advertised.ip(), addr.port());
    let svc = service::Service::new(ctx.clone(), advertised, metrics);
    let producers = svc.producers.clone();
    ctx.orphan_checks
        .set(Box::new(move |m, raw| producers.recover(m, raw)));
    let server = pb::messaging_service_server::MessagingServiceServer::new(svc)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    let server = auth::Acl::new(server, ctx.clone());
    let incoming = listener::incoming(listener, tls, ctx.broker.config.net.remoting.frame_read);
    let broker = ctx.broker.clone();
    Ok(tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
            .add_service(server)
            .serve_with_incoming_shutdown(incoming, async move {
                broker.shutdown_signal().await;
            })
            .await;
        if let Err(e) = served {
            warn!("grpc server stopped: {e}");
        }
    }))
}
