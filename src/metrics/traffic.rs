//! Request and connection metrics of both front-ends. They live in one
//! process-wide value ([`traffic`]) so the hooks in `kafka/` and `remoting/`
//! need no extra plumbing; [`register`] adds them to a registry (any number
//! of registries may share them, e.g. one per test).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::Instant;

use prometheus::{
    exponential_buckets, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts,
    Registry,
};
use rokka_protocols::remoting::ResponseCode;

/// Request latency histograms, error counters and listener counters.
#[derive(Debug, Clone)]
pub struct Traffic {
    /// `rokka_kafka_request_duration_seconds{api}`.
    pub kafka_latency: HistogramVec,
    /// `rokka_kafka_request_errors_total{api, reason}`: requests that closed
    /// the connection (per-partition error codes are in the response bodies).
    pub kafka_errors: IntCounterVec,
    /// `rokka_remoting_request_duration_seconds{code}`.
    pub remoting_latency: HistogramVec,
    /// `rokka_remoting_request_errors_total{code, response_code}`: replies
    /// other than SUCCESS.
    pub remoting_errors: IntCounterVec,
    /// `rokka_listener_connections_open{listener}`.
    pub connections_open: IntGaugeVec,
    /// `rokka_listener_connections_accepted_total{listener}`.
    pub connections_accepted: IntCounterVec,
    /// `rokka_listener_received_bytes_total{listener}`.
    pub bytes_read: IntCounterVec,
    /// `rokka_listener_sent_bytes_total{listener}`.
    pub bytes_written: IntCounterVec,
    /// `rokka_rejected_frames_total{protocol, reason}`: frames that closed
    /// the connection because they were oversized or malformed.
    pub rejected_frames: IntCounterVec,
}

/// Latency histogram handles of the one [`Traffic`], by Kafka API key and by
/// RocketMQ request code (answered SUCCESS), resolved on first use: a request
/// then costs no label formatting or look-up.
static KAFKA_LATENCY: [OnceLock<Histogram>; 128] = [const { OnceLock::new() }; 128];
static REMOTING_LATENCY: [OnceLock<Histogram>; 1024] = [const { OnceLock::new() }; 1024];

static TRAFFIC: LazyLock<Traffic> =
    LazyLock::new(|| Traffic::new().expect("static metric definitions are valid"));

/// The process-wide traffic metrics.
pub fn traffic() -> &'static Traffic {
    &TRAFFIC
}

/// Registers the traffic metrics with `registry`.
pub fn register(registry: &Registry) -> prometheus::Result<()> {
    let t = traffic().clone();
    registry.register(Box::new(t.kafka_latency))?;
    registry.register(Box::new(t.kafka_errors))?;
    registry.register(Box::new(t.remoting_latency))?;
    registry.register(Box::new(t.remoting_errors))?;
    registry.register(Box::new(t.connections_open))?;
    registry.register(Box::new(t.connections_accepted))?;
    registry.register(Box::new(t.bytes_read))?;
    registry.register(Box::new(t.bytes_written))?;
    registry.register(Box::new(t.rejected_frames))?;
    Ok(())
}

fn latency(name: &str, help: &str, label: &str) -> prometheus::Result<HistogramVec> {
    // 50 µs .. ~6.5 s, doubling.
    let buckets = exponential_buckets(0.000_05, 2.0, 18)?;
    HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), &[label])
}

fn counter(name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntCounterVec> {
    IntCounterVec::new(Opts::new(name, help), labels)
}

impl Traffic {
    fn new() -> prometheus::Result<Traffic> {
        Ok(Traffic {
            kafka_latency: latency(
                "rokka_kafka_request_duration_seconds",
                "Time to handle a Kafka request, by API key.",
                "api",
            )?,
            kafka_errors: counter(
                "rokka_kafka_request_errors_total",
                "Kafka requests refused by closing the connection, by API key and reason.",
                &["api", "reason"],
            )?,
            remoting_latency: latency(
                "rokka_remoting_request_duration_seconds",
                "Time to handle a RocketMQ request, by request code.",
                "code",
            )?,
            remoting_errors: counter(
                "rokka_remoting_request_errors_total",
                "RocketMQ replies other than SUCCESS, by request code and response code.",
                &["code", "response_code"],
            )?,
            connections_open: IntGaugeVec::new(
                Opts::new(
                    "rokka_listener_connections_open",
                    "Connections currently open, by listener.",
                ),
                &["listener"],
            )?,
            connections_accepted: counter(
                "rokka_listener_connections_accepted_total",
                "Connections accepted, by listener.",
                &["listener"],
            )?,
            bytes_read: counter(
                "rokka_listener_received_bytes_total",
                "Bytes read from clients, by listener.",
                &["listener"],
            )?,
            bytes_written: counter(
                "rokka_listener_sent_bytes_total",
                "Bytes written to clients, by listener.",
                &["listener"],
            )?,
            rejected_frames: counter(
                "rokka_rejected_frames_total",
                "Frames refused by closing the connection, by protocol (kafka, remoting) and reason (malformed, oversized, timeout).",
                &["protocol", "reason"],
            )?,
        })
    }

    /// Records one Kafka request that started at `start`; `error` is the
    /// reason the connection is closed, if it is.
    pub fn kafka_request(&self, api: i16, start: Instant, error: Option<&str>) {
        let elapsed = start.elapsed().as_secs_f64();
        match usize::try_from(api).ok().and_then(|i| KAFKA_LATENCY.get(i)) {
            Some(slot) => slot
                .get_or_init(|| self.kafka_latency.with_label_values(&[&api.to_string()]))
                .observe(elapsed),
            None => self
                .kafka_latency
                .with_label_values(&[&api.to_string()])
                .observe(elapsed),
        }
        if let Some(reason) = error {
            self.kafka_errors
                .with_label_values(&[&api.to_string(), reason])
                .inc();
        }
    }

    /// Records one RocketMQ request that started at `start` and was answered
    /// with `response_code`. Codes answered REQUEST_CODE_NOT_SUPPORTED are
    /// labelled `other`, so clients cannot grow the label set.
    pub fn remoting_request(&self, code: i32, start: Instant, response_code: i32) {
        let elapsed = start.elapsed().as_secs_f64();
        let supported = response_code != ResponseCode::REQUEST_CODE_NOT_SUPPORTED.0;
        if response_code == 0 {
            // The hot path: a cached handle, no label look-up.
            if let Some(slot) = usize::try_from(code)
                .ok()
                .and_then(|i| REMOTING_LATENCY.get(i))
            {
                slot.get_or_init(|| {
                    self.remoting_latency
                        .with_label_values(&[&code.to_string()])
                })
                .observe(elapsed);
                return;
            }
        }
        let code = if supported {
            code.to_string()
        } else {
            "other".to_string()
        };
        self.remoting_latency
            .with_label_values(&[&code])
            .observe(elapsed);
        if response_code != 0 {
            self.remoting_errors
                .with_label_values(&[&code, &response_code.to_string()])
                .inc();
        }
        if let Some(reason) = refusal(response_code) {
            tracing::info!(
                request_code = code,
                response_code,
                reason,
                "rejected remoting request"
            );
        }
    }

    /// Counts an accepted connection from `peer` on `listener` and logs it;
    /// the returned guard keeps it in `rokka_listener_connections_open` and
    /// logs the close (reason, duration, bytes) when dropped.
    pub fn connection(&self, listener: &'static str, peer: SocketAddr) -> ConnGuard {
        self.connections_accepted
            .with_label_values(&[listener])
            .inc();
        self.connections_open.with_label_values(&[listener]).inc();
        tracing::info!(listener, %peer, "connection opened");
        ConnGuard {
            listener,
            peer,
            opened: Instant::now(),
            bytes: Arc::new(ConnBytes {
                listener,
                read: AtomicU64::new(0),
                written: AtomicU64::new(0),
            }),
            reason: Mutex::new("closed by peer"),
        }
    }

    /// Counts a frame refused on a `protocol` listener for `reason`
    /// (`malformed`, `oversized` or `timeout`) and logs it, at most
    /// `rokka.rejectedLogsPerSecond` lines a second (`net::log_limit`).
    pub fn rejected_frame(&self, protocol: &str, reason: &str, peer: SocketAddr, detail: &str) {
        self.rejected_frames
            .with_label_values(&[protocol, reason])
            .inc();
        crate::net::log_limit::warn(|suppressed| {
            tracing::warn!(
                protocol,
                %peer,
                reason,
                detail,
                suppressed,
                "rejected frame, closing the connection"
            );
        });
    }

    /// Counts `n` bytes read on `listener`.
    pub fn read(&self, listener: &str, n: usize) {
        self.bytes_read
            .with_label_values(&[listener])
            .inc_by(n as u64);
    }

    /// Counts `n` bytes written on `listener`.
    pub fn written(&self, listener: &str, n: usize) {
        self.bytes_written
            .with_label_values(&[listener])
            .inc_by(n as u64);
    }
}

/// The reason logged for a reply that refuses a request; `None` for success
/// and for the everyday answers (no new message, topic not found, ...).
fn refusal(response_code: i32) -> Option<&'static str> {
    Some(match ResponseCode(response_code) {
        ResponseCode::SYSTEM_ERROR => "system error",
        ResponseCode::SYSTEM_BUSY => "system busy",
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED => "request code not supported",
        ResponseCode::MESSAGE_ILLEGAL => "message illegal",
        ResponseCode::SERVICE_NOT_AVAILABLE => "service not available",
        ResponseCode::NO_PERMISSION => "no permission",
        _ => return None,
    })
}

/// Byte counts of one connection; the writer task holds a clone.
#[derive(Debug)]
pub struct ConnBytes {
    listener: &'static str,
    read: AtomicU64,
    written: AtomicU64,
}

impl ConnBytes {
    /// Counts `n` bytes read, for the connection and its listener.
    pub fn read(&self, n: usize) {
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        traffic().read(self.listener, n);
    }

    /// Counts `n` bytes written, for the connection and its listener.
    pub fn written(&self, n: usize) {
        self.written.fetch_add(n as u64, Ordering::Relaxed);
        traffic().written(self.listener, n);
    }
}

/// One open connection: decrements the open-connection gauge and logs the
/// close when dropped.
#[derive(Debug)]
pub struct ConnGuard {
    listener: &'static str,
    peer: SocketAddr,
    opened: Instant,
    bytes: Arc<ConnBytes>,
    reason: Mutex<&'static str>,
}

impl ConnGuard {
    /// The byte counters, to share with a writer task.
    pub fn bytes(&self) -> Arc<ConnBytes> {
        self.bytes.clone()
    }

    /// Counts `n` bytes read.
    pub fn read(&self, n: usize) {
        self.bytes.read(n);
    }

    /// Sets why the connection ends (logged on close; default "closed by peer").
    pub fn closing(&self, reason: &'static str) {
        *self.reason.lock().unwrap_or_else(|e| e.into_inner()) = reason;
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        traffic()
            .connections_open
            .with_label_values(&[self.listener])
            .dec();
        let reason = *self.reason.lock().unwrap_or_else(|e| e.into_inner());
        tracing::info!(
            listener = self.listener,
            peer = %self.peer,
            reason,
            duration_ms = self.opened.elapsed().as_millis() as u64,
            bytes_read = self.bytes.read.load(Ordering::Relaxed),
            bytes_written = self.bytes.written.load(Ordering::Relaxed),
            "connection closed"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_and_connections() {
        let registry = Registry::new();
        register(&registry).unwrap();
        let t = traffic();
        t.kafka_request(0, Instant::now(), Some("bad body"));
        t.remoting_request(10, Instant::now(), 17);
        t.remoting_request(10, Instant::now(), 0);
        t.remoting_request(12345, Instant::now(), 3);
        assert!(t.remoting_errors.with_label_values(&["other", "3"]).get() >= 1);
        {
            let g = t.connection("test", "127.0.0.1:1".parse().unwrap());
            g.read(10);
            g.bytes().written(7);
            g.closing("test over");
            assert_eq!(t.connections_open.with_label_values(&["test"]).get(), 1);
            assert_eq!(t.bytes_read.with_label_values(&["test"]).get(), 10);
            assert_eq!(t.bytes_written.with_label_values(&["test"]).get(), 7);
        }
        t.rejected_frame("kafka", "oversized", "127.0.0.1:1".parse().unwrap(), "x");
        assert!(
            t.rejected_frames
                .with_label_values(&["kafka", "oversized"])
                .get()
                >= 1
        );
        assert_eq!(t.connections_open.with_label_values(&["test"]).get(), 0);
        assert!(t.remoting_errors.with_label_values(&["10", "17"]).get() >= 1);
        assert!(t.kafka_errors.with_label_values(&["0", "bad body"]).get() >= 1);
        let names: Vec<String> = registry
            .gather()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        assert!(names.contains(&"rokka_remoting_request_duration_seconds".to_string()));
    }
}
