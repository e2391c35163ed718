//! Connection hygiene shared by the listeners (Kafka, RocketMQ broker and
//! VIP, NameServer): per-listener limits and timeouts ([`ListenerLimits`]),
//! admission with connection caps ([`admission`]), the read deadlines of a
//! connection ([`ReadClock`]), rate-limited WARN logging ([`log_limit`]) and
//! TLS with the maybe-TLS stream every front-end serves ([`tls`]), and
//! vectored writes of replies with mapped body parts ([`vectored`]).
//! Decisions: docs/adr/008-disk-pressure-and-connection-hygiene.md.

pub mod admission;
pub mod log_limit;
pub mod tls;
pub mod vectored;

use std::time::Duration;

use tokio::time::Instant;

/// Limits of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// A connection with no request started for this long is closed
    /// (Kafka `connections.max.idle.ms`, RocketMQ `serverChannelMaxIdleTimeSeconds`).
    pub idle: Duration,
    /// A frame whose first byte has arrived must be complete within this
    /// (`rokka.frameReadTimeoutMs`), so a stalled or trickling client is closed.
    pub frame_read: Duration,
    /// Connections open at once on the listener (Kafka `max.connections`).
    pub max_connections: usize,
    /// Connections open at once from one client address (Kafka `max.connections.per.ip`).
    pub max_connections_per_ip: usize,
}

/// Limits of every listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetConfig {
    /// The Kafka listener.
    pub kafka: ListenerLimits,
    /// The RocketMQ listeners: broker, VIP channel and NameServer (each its own caps).
    pub remoting: ListenerLimits,
    /// WARN lines about refused frames and connections logged per second
    /// (`rokka.rejectedLogsPerSecond`); the rest are counted and summarised.
    pub rejected_logs_per_second: u32,
}

/// Default of `rokka.frameReadTimeoutMs`.
pub const DEFAULT_FRAME_READ: Duration = Duration::from_secs(30);

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            kafka: ListenerLimits {
                idle: Duration::from_millis(600_000),
                frame_read: DEFAULT_FRAME_READ,
                max_connections: 4096,
                max_connections_per_ip: usize::MAX,
            },
            remoting: ListenerLimits {
                idle: Duration::from_secs(120),
                frame_read: DEFAULT_FRAME_READ,
                max_connections: 10_000,
                max_connections_per_ip: usize::MAX,
            },
            rejected_logs_per_second: 10,
        }
    }
}

/// Why a read deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// No request started within the idle timeout.
    Idle,
    /// A started frame was not complete within the frame read timeout.
    SlowFrame,
}

impl Expired {
    /// The close reason logged for the connection.
    pub fn reason(self) -> &'static str {
        match self {
            Expired::Idle => "idle timeout",
            Expired::SlowFrame => "frame read timeout",
        }
    }
}

/// The read deadline of one connection: the idle timeout while no frame is
/// started, the frame read timeout (from its first byte) while one is.
#[derive(Debug)]
pub struct ReadClock {
    limits: ListenerLimits,
    idle_since: Instant,
    frame_started: Option<Instant>,
}

impl ReadClock {
    /// A clock for a connection opened now.
    pub fn new(limits: ListenerLimits) -> Self {
        ReadClock {
            limits,
            idle_since: Instant::now(),
            frame_started: None,
        }
    }

    /// Tells the clock whether a partial frame is buffered after a read or
    /// after complete frames were taken out.
    pub fn partial(&mut self, partial: bool) {
        match (partial, self.frame_started) {
            (true, None) => self.frame_started = Some(Instant::now()),
            (false, Some(_)) => {
                self.frame_started = None;
                self.idle_since = Instant::now();
            }
            _ => {}
        }
    }

    /// Marks a complete request (restarts the idle timeout).
    pub fn request_done(&mut self) {
        self.frame_started = None;
        self.idle_since = Instant::now();
    }

    /// When the next read gives up, and why.
    pub fn deadline(&self) -> (Instant, Expired) {
        match self.frame_started {
            Some(t) => (t + self.limits.frame_read, Expired::SlowFrame),
            None => (self.idle_since + self.limits.idle, Expired::Idle),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_follows_the_frame_state() {
        let limits = ListenerLimits {
            idle: Duration::from_secs(100),
            frame_read: Duration::from_secs(2),
            ..NetConfig::default().kafka
        };
        let start = Instant::now();
        let mut c = ReadClock::new(limits);
        let (idle_at, why) = c.deadline();
        assert_eq!(why, Expired::Idle);
        assert!(idle_at >= start + limits.idle);
        c.partial(true);
        let (at, why) = c.deadline();
        assert_eq!(why, Expired::SlowFrame);
        assert!(at >= start + limits.frame_read && at < idle_at);
        // More bytes of the same frame do not move the deadline.
        std::thread::sleep(Duration::from_millis(5));
        c.partial(true);
        assert_eq!(c.deadline().0, at);
        c.request_done();
        let (again, why) = c.deadline();
        assert_eq!(why, Expired::Idle);
        assert!(again > idle_at, "the idle timeout restarts after a request");
    }
}
