//! Admission of new connections: a cap per listener and per client address
//! (Kafka `max.connections`, `max.connections.per.ip`; `rokka.remoting…` for
//! the RocketMQ listeners). A connection over a cap is accepted and closed at
//! once (so the client sees a clear refusal rather than a hanging connect),
//! counted in `rokka_connections_refused_total{listener, reason}` and logged
//! through the rate limiter.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock, Mutex};

use prometheus::{IntCounterVec, Opts, Registry};

use super::ListenerLimits;

static REFUSED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    IntCounterVec::new(
        Opts::new(
            "rokka_connections_refused_total",
            "Connections closed on accept, by listener and reason (max_connections, max_connections_per_ip).",
        ),
        &["listener", "reason"],
    )
    .expect("static metric definition is valid")
});

/// Registers `rokka_connections_refused_total` with `registry`.
pub fn register(registry: &Registry) -> prometheus::Result<()> {
    registry.register(Box::new(REFUSED.clone()))
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The listener has `max_connections` open.
    Listener,
    /// The client address has `max_connections_per_ip` open.
    PerIp,
}

impl Refused {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Refused::Listener => "max_connections",
            Refused::PerIp => "max_connections_per_ip",
        }
    }
}

/// The open connections of one listener.
#[derive(Debug)]
pub struct Admission {
    listener: &'static str,
    limits: ListenerLimits,
    open: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// One admitted connection; frees its slot when dropped.
#[derive(Debug)]
pub struct Permit {
    admission: Arc<Admission>,
    ip: IpAddr,
}

impl Admission {
    /// Admission for `listener` (the metric label) under `limits`.
    pub fn new(listener: &'static str, limits: ListenerLimits) -> Arc<Admission> {
        Arc::new(Admission {
            listener,
            limits,
            open: Mutex::new(Counts::default()),
        })
    }

    /// Takes a slot for a connection from `peer`, or counts and logs the refusal.
    pub fn admit(self: &Arc<Self>, peer: SocketAddr) -> Result<Permit, Refused> {
        let ip = peer.ip();
        let verdict = {
            let mut c = self.open.lock().unwrap_or_else(|e| e.into_inner());
            let from_ip = c.by_ip.get(&ip).copied().unwrap_or(0);
            if c.total >= self.limits.max_connections {
                Err(Refused::Listener)
            } else if from_ip >= self.limits.max_connections_per_ip {
                Err(Refused::PerIp)
            } else {
                c.total += 1;
                c.by_ip.insert(ip, from_ip + 1);
                Ok(())
            }
        };
        match verdict {
            Ok(()) => Ok(Permit {
                admission: self.clone(),
                ip,
            }),
            Err(why) => {
                REFUSED
                    .with_label_values(&[self.listener, why.label()])
                    .inc();
                let (listener, limits) = (self.listener, self.limits);
                super::log_limit::warn(|suppressed| {
                    tracing::warn!(
                        listener,
                        %peer,
                        reason = why.label(),
                        max_connections = limits.max_connections,
                        max_connections_per_ip = limits.max_connections_per_ip,
                        suppressed,
                        "connection refused"
                    );
                });
                Err(why)
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut c = self
            .admission
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.by_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::NetConfig;

    #[test]
    fn caps_per_listener_and_per_address() {
        let limits = ListenerLimits {
            max_connections: 3,
            max_connections_per_ip: 2,
            ..NetConfig::default().kafka
        };
        let a = Admission::new("test-admission", limits);
        let one: SocketAddr = "10.0.0.1:1".parse().unwrap();
        let two: SocketAddr = "10.0.0.2:1".parse().unwrap();
        let p1 = a.admit(one).unwrap();
        let _p2 = a.admit(one).unwrap();
        assert_eq!(a.admit(one).unwrap_err(), Refused::PerIp);
        let _p3 = a.admit(two).unwrap();
        assert_eq!(a.admit(two).unwrap_err(), Refused::Listener);
        drop(p1);
        let _p4 = a.admit(two).unwrap();
        assert_eq!(
            REFUSED
                .with_label_values(&["test-admission", "max_connections_per_ip"])
                .get(),
            1
        );
        assert_eq!(
            REFUSED
                .with_label_values(&["test-admission", "max_connections"])
                .get(),
            1
        );
    }
}
