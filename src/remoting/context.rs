//! State shared by every RocketMQ connection, the reply type handlers return,
//! and the one place where store errors become response codes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use prometheus::{IntCounter, IntCounterVec, Opts};
use rokka_protocols::remoting::{RemotingCommand, ResponseCode};
use rokka_store::StoreError;

use super::admin::Locks;
use super::clients::Clients;
use super::namesrv::NameSrv;
use super::transaction::Transactions;
use crate::broker::Broker;
use crate::startup::StartupError;

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The embedded NameServer port.
    NameServer,
    /// The broker port (main or VIP).
    Broker,
}

impl Role {
    /// The listener label of metrics and log lines.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Role::NameServer => "namesrv",
            Role::Broker => "remoting",
        }
    }
}

/// Metrics of the RocketMQ front-end.
#[derive(Debug, Clone)]
pub(crate) struct RemotingMetrics {
    pub(crate) requests: IntCounterVec,
    pub(crate) malformed: IntCounter,
    /// `rokka_remoting_transaction_checks_total{outcome}`: back-checks sent,
    /// and half messages discarded after the last one.
    pub(crate) transaction_checks: IntCounterVec,
}

impl RemotingMetrics {
    fn register(reg: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "rokka_remoting_requests_total",
                "RocketMQ remoting requests by request code",
            ),
            &["code"],
        )?;
        let malformed = IntCounter::new(
            "rokka_remoting_malformed_frames_total",
            "RocketMQ frames that could not be decoded (connection closed)",
        )?;
        let transaction_checks = IntCounterVec::new(
            Opts::new(
                "rokka_remoting_transaction_checks_total",
                "Transaction back-checks (CHECK_TRANSACTION_STATE) by outcome: sent, \
                 no_producer (no live producer of the group), discarded (rolled back after \
                 transactionCheckMax checks)",
            ),
            &["outcome"],
        )?;
        for outcome in ["sent", "no_producer", "discarded"] {
            transaction_checks.with_label_values(&[outcome]);
        }
        reg.register(Box::new(requests.clone()))?;
        reg.register(Box::new(malformed.clone()))?;
        reg.register(Box::new(transaction_checks.clone()))?;
        Ok(RemotingMetrics {
            transaction_checks,
            requests,
            malformed,
        })
    }
}

/// Everything handlers share.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) broker: Broker,
    /// The broker address clients are told (routes, message ids).
    pub(crate) advertised: SocketAddr,
    pub(crate) metrics: RemotingMetrics,
    pub(crate) namesrv: NameSrv,
    pub(crate) clients: Clients,
    pub(crate) locks: Locks,
    pub(crate) transactions: Transactions,
    /// Back-checks of half messages no remoting producer can answer.
    pub(crate) orphan_checks: super::transaction_check::OrphanChecks,
    /// Broker → client requests waiting for their answer (307, 309).
    pub(crate) relay: super::relay::Relay,
    next_conn: AtomicU64,
    next_queue: AtomicU64,
}

impl Ctx {
    pub(crate) fn new(broker: Broker, bound: SocketAddr) -> Result<Ctx, StartupError> {
        let metrics = RemotingMetrics::register(&broker.registry)?;
        let host = broker.store.store_host();
        // The configured store host, with the actually bound port (differs only
        // when the listen port was 0) and a usable IP.
        let ip = if !host.ip().is_unspecified() {
            host.ip()
        } else if !bound.ip().is_unspecified() {
            bound.ip()
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        };
        let advertised = SocketAddr::new(ip, bound.port());
        // Stored records and offset message ids must name the reachable
        // address (differs from the configured one when listening on port 0).
        if broker.store.store_host() != advertised {
            broker.store.set_store_host(advertised);
        }
        let transactions = Transactions::load(&broker.store);
        Ok(Ctx {
            advertised,
            metrics,
            namesrv: NameSrv::default(),
            clients: Clients::default(),
            locks: Locks::default(),
            transactions,
            orphan_checks: Default::default(),
            relay: Default::default(),
            next_conn: AtomicU64::new(1),
            next_queue: AtomicU64::new(0),
            broker,
        })
    }

    pub(crate) fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Round-robin counter for sends that let the broker pick the queue.
    pub(crate) fn next_queue(&self) -> u64 {
        self.next_queue.fetch_add(1, Ordering::Relaxed)
    }
}

/// A response: the command (its `body` ignored) and the body in parts, so
/// stored entries go out without being copied.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) cmd: RemotingCommand,
    pub(crate) body: Vec<Bytes>,
}

impl Reply {
    pub(crate) fn new(cmd: RemotingCommand) -> Reply {
        Reply {
            body: if cmd.body.is_empty() {
                Vec::new()
            } else {
                vec![cmd.body.clone()]
            },
            cmd,
        }
    }
}

/// A request that fails with a response code and remark.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {remark}")]
pub(crate) struct HandlerError {
    pub(crate) code: ResponseCode,
    pub(crate) remark: String,
}

impl HandlerError {
    pub(crate) fn new(code: ResponseCode, remark: impl Into<String>) -> HandlerError {
        HandlerError {
            code,
            remark: remark.into(),
        }
    }
}

/// The handler result.
pub(crate) type HResult = Result<Reply, HandlerError>;

/// Store errors → RocketMQ response codes (the one mapping, STYLE.md §5).
pub(crate) fn map_store_error(e: &StoreError) -> HandlerError {
    let code = match e {
        StoreError::MessageTooLarge { .. } | StoreError::InvalidAppend { .. } => {
            ResponseCode::MESSAGE_ILLEGAL
        }
        StoreError::DiskFull { .. }
        | StoreError::NoSpace { .. }
        | StoreError::Poisoned
        | StoreError::Closed => ResponseCode::SERVICE_NOT_AVAILABLE,
        // DefaultMessageStore refuses puts on a slave with SERVICE_NOT_AVAILABLE.
        StoreError::SlaveReadOnly => {
            return HandlerError::new(
                ResponseCode::SERVICE_NOT_AVAILABLE,
                "service not available now: this broker is a slave (or a master cut off from \
                 the cluster majority); messages are put to the master",
            )
        }
        _ => ResponseCode::SYSTEM_ERROR,
    };
    HandlerError::new(code, e.to_string())
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
