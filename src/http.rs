//! The HTTP endpoint: `GET /healthz`, `GET /metrics` (Prometheus text
//! format), `POST /admin/compact` (a log cleaner pass now) and, in cluster
//! mode, `GET /cluster` and `POST /cluster/{add,remove}-node/…`, beside the
//! protocol listeners. A deliberately tiny HTTP/1.1
//! responder: one request per connection, `Connection: close`, no bodies read.
//!
//! Like mini-redis `server::run`, [`run`] takes a bound listener and a shutdown
//! future, so tests bind port 0. One task per connection; a semaphore caps
//! them. A request head is capped at [`MAX_HEAD`] bytes and [`HEAD_TIMEOUT`].

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use prometheus::{Encoder, Registry, TextEncoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::metrics::HttpMetrics;

/// Largest request head (request line plus headers) accepted.
pub const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client has to take the response.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 64;
/// How long shutdown waits for responses in flight before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// What the endpoints need: the registry to encode and the endpoint's own counters.
#[derive(Debug, Clone)]
pub struct HttpState {
    /// Everything `/metrics` shows (store, process, rokka).
    pub registry: Registry,
    /// Counters of this endpoint.
    pub metrics: HttpMetrics,
    /// The store, for `POST /admin/compact` (a log cleaner pass now).
    pub store: Option<rokka_store::Store>,
    /// Cluster mode, for `GET /cluster` (404 without it).
    pub cluster: Option<std::sync::Arc<crate::cluster::Cluster>>,
    /// The listener's TLS step (`rokka.http.tls.*`; plain when not configured).
    pub tls: crate::net::tls::ListenerTls,
}

/// Serves `listener` until `shutdown` completes, then stops accepting, gives
/// requests in flight two seconds to finish and returns.
pub async fn run(listener: TcpListener, state: HttpState, shutdown: impl Future<Output = ()>) {
    let state = Arc::new(state);
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            permit = limit.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    warn!(error = %e, "http accept failed");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        let state = state.clone();
        connections.spawn(async move {
            let _permit = permit;
            let Some(socket) = state.tls.accept(socket, peer, HEAD_TIMEOUT).await else {
                return;
            };
            if let Err(e) = serve(socket, &state).await {
                debug!(%peer, error = %e, "http connection failed");
            }
        });
    }
    drop(listener);
    info!("http listener closed");
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        connections.shutdown().await;
    }
}

/// Reads one request head, answers it and closes the connection.
async fn serve(mut socket: crate::net::tls::MaybeTls, state: &HttpState) -> io::Result<()> {
    let response = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut socket)).await {
        Err(_) => {
            debug!("http request head timed out");
            return Ok(());
        }
        Ok(Err(e)) => return Err(e),
        Ok(Ok(Head::Closed)) => return Ok(()),
        Ok(Ok(Head::TooLarge)) => Response::text(431, "request header fields too large\n"),
        Ok(Ok(Head::Complete(head))) => match parse_request_line(&head) {
            Some((method, path)) => route(method, path, state).await,
            None => Response::text(400, "bad request\n"),
        },
    };
    tokio::time::timeout(WRITE_TIMEOUT, async {
        socket.write_all(&response.encode()).await?;
        socket.shutdown().await
    })
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "http response write timed out"))?
}

/// Outcome of reading a request head.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    /// Everything up to and including the blank line.
    Complete(Vec<u8>),
    /// More than [`MAX_HEAD`] bytes without a blank line.
    TooLarge,
    /// The peer closed before sending a whole head.
    Closed,
}

/// Reads until the blank line that ends the head (`\r\n\r\n`, or a bare `\n\n`).
async fn read_head<R: tokio::io::AsyncRead + Unpin>(reader: &mut R) -> io::Result<Head> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = reader.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Head::Closed);
        }
        // Re-scan the last 3 old bytes: the terminator may straddle two reads.
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = head_end(&buf[from..]).map(|e| from + e) {
            if end > MAX_HEAD {
                return Ok(Head::TooLarge);
            }
            buf.truncate(end);
            return Ok(Head::Complete(buf));
        }
        if buf.len() >= MAX_HEAD {
            return Ok(Head::TooLarge);
        }
    }
}

/// Length of the head including its terminating blank line, if complete.
fn head_end(buf: &[u8]) -> Option<usize> {
    (0..buf.len()).find_map(|i| {
        let rest = &buf[i..];
        if rest.starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else if rest.starts_with(b"\n\n") {
            Some(i + 2)
        } else {
            None
        }
    })
}

/// Method and path (query string dropped) of `METHOD SP target SP HTTP/1.x`.
fn parse_request_line(head: &[u8]) -> Option<(&str, &str)> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || method.is_empty()
        || !version.starts_with("HTTP/1.")
        || !target.starts_with('/')
    {
        return None;
    }
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    Some((method, path))
}

/// 200 for a committed membership change, 409 with the reason otherwise.
fn membership_response(r: Result<(), String>) -> Response {
    match r {
        Ok(()) => Response::text(200, "ok\n"),
        Err(e) => Response::text(409, &format!("{e}\n")),
    }
}

/// 200 with what changed for a committed placement change (add-queues,
/// drain), 409 with the reason otherwise.
fn placement_response(r: Result<String, String>) -> Response {
    match r {
        Ok(done) => Response::text(200, &format!("{done}\n")),
        Err(e) => Response::text(409, &format!("{e}\n")),
    }
}

/// Picks the response for `method` and `path`.
async fn route(method: &str, path: &str, state: &HttpState) -> Response {
    let label = match path {
        "/healthz" | "/metrics" | "/admin/compact" | "/cluster" => path,
        _ if path.starts_with("/cluster/add-node/") => "/cluster/add-node",
        _ if path.starts_with("/cluster/remove-node/") => "/cluster/remove-node",
        _ if path.starts_with("/cluster/add-queues/") => "/cluster/add-queues",
        _ if path.starts_with("/cluster/drain/") => "/cluster/drain",
        _ if path.starts_with("/cluster/undrain/") => "/cluster/undrain",
        _ => "other",
    };
    let mut response = match (path, method) {
        ("/healthz", "GET" | "HEAD") => Response::text(200, "ok\n"),
        ("/metrics", "GET" | "HEAD") => metrics_response(&state.registry).await,
        ("/admin/compact", "POST") => compact_response(state.store.clone()).await,
        ("/admin/compact", _) => Response::text(405, "use POST\n"),
        ("/cluster", "GET" | "HEAD") => match &state.cluster {
            Some(c) => Response {
                content_type: "application/json".to_string(),
                ..Response::text(200, &format!("{}\n", c.status_json()))
            },
            None => Response::text(404, "not in cluster mode\n"),
        },
        (p, "POST") if p.starts_with("/cluster/add-node/") => {
            let spec = &p["/cluster/add-node/".len()..];
            match &state.cluster {
                Some(c) => membership_response(c.add_node(spec).await),
                None => Response::text(404, "not in cluster mode\n"),
            }
        }
        (p, "POST") if p.starts_with("/cluster/remove-node/") => {
            let id = &p["/cluster/remove-node/".len()..];
            match &state.cluster {
                Some(c) => membership_response(c.remove_node(id).await),
                None => Response::text(404, "not in cluster mode\n"),
            }
        }
        (p, "POST") if p.starts_with("/cluster/add-queues/") => match &state.cluster {
            Some(c) => placement_response(c.add_queues(&p["/cluster/add-queues/".len()..]).await),
            None => Response::text(404, "not in cluster mode\n"),
        },
        (p, "POST") if p.starts_with("/cluster/drain/") || p.starts_with("/cluster/undrain/") => {
            let (spec, drained) = match p.strip_prefix("/cluster/drain/") {
                Some(spec) => (spec, true),
                None => (&p["/cluster/undrain/".len()..], false),
            };
            match &state.cluster {
                Some(c) => placement_response(c.set_drained(spec, drained).await),
                None => Response::text(404, "not in cluster mode\n"),
            }
        }
        ("/healthz" | "/metrics", _) => Response {
            allow: true,
            ..Response::text(405, "method not allowed\n")
        },
        _ => Response::text(404, "not found\n"),
    };
    response.head_only = method == "HEAD";
    state
        .metrics
        .requests_total
        .with_label_values(&[label, &response.status.to_string()])
        .inc();
    response
}

/// Runs a log cleaner pass (ADR 010) off the async workers and answers
/// with its report.
async fn compact_response(store: Option<rokka_store::Store>) -> Response {
    let Some(store) = store else {
        return Response::text(404, "not found\n");
    };
    match tokio::task::spawn_blocking(move || store.compact_now()).await {
        Ok(Ok(r)) => Response::text(200, &format!("{r:?}\n")),
        Ok(Err(e)) => {
            warn!(error = %e, "forced log cleaner pass failed");
            Response::text(500, &format!("{e}\n"))
        }
        Err(e) => Response::text(500, &format!("{e}\n")),
    }
}

/// Encodes the registry off the async workers: the process collector reads `/proc`.
async fn metrics_response(registry: &Registry) -> Response {
    let registry = registry.clone();
    let encoded = tokio::task::spawn_blocking(move || {
        let encoder = TextEncoder::new();
        let mut body = Vec::with_capacity(16 * 1024);
        encoder
            .encode(&registry.gather(), &mut body)
            .map(|()| (encoder.format_type().to_string(), body))
    })
    .await;
    match encoded {
        Ok(Ok((content_type, body))) => Response {
            status: 200,
            content_type,
            body,
            allow: false,
            head_only: false,
        },
        Ok(Err(e)) => {
            warn!(error = %e, "cannot encode metrics");
            Response::text(500, "cannot encode metrics\n")
        }
        Err(e) => {
            warn!(error = %e, "metrics task failed");
            Response::text(500, "cannot encode metrics\n")
        }
    }
}

/// A whole response; always `Connection: close`.
#[derive(Debug)]
struct Response {
    status: u16,
    content_type: String,
    body: Vec<u8>,
    /// Send `Allow: GET, HEAD` (with 405).
    allow: bool,
    /// HEAD request: headers only, `Content-Length` of the body that would be sent.
    head_only: bool,
}

impl Response {
    fn text(status: u16, body: &str) -> Self {
        Response {
            status,
            content_type: "text/plain; charset=utf-8".to_string(),
            body: body.as_bytes().to_vec(),
            allow: false,
            head_only: false,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            409 => "Conflict",
            431 => "Request Header Fields Too Large",
            _ => "Internal Server Error",
        };
        let mut out = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status,
            self.content_type,
            self.body.len()
        )
        .into_bytes();
        if self.allow {
            out.extend_from_slice(b"Allow: GET, HEAD\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !self.head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpStream;

    fn state() -> HttpState {
        let registry = Registry::new();
        crate::metrics::register_process_metrics(&registry).unwrap();
        let metrics = HttpMetrics::register(&registry).unwrap();
        HttpState {
            registry,
            metrics,
            store: None,
            cluster: None,
            tls: crate::net::tls::ListenerTls::plain("http"),
        }
    }

    async fn read_all(input: &[u8]) -> Head {
        let mut reader = one_byte_reader(input);
        read_head(&mut reader).await.unwrap()
    }

    /// Feeds `input` one byte per read, the worst split.
    fn one_byte_reader(input: &[u8]) -> impl tokio::io::AsyncRead + Unpin {
        let (mut tx, rx) = tokio::io::duplex(1);
        let input = input.to_vec();
        tokio::spawn(async move {
            let _ = tx.write_all(&input).await;
        });
        rx
    }

    #[tokio::test]
    async fn read_head_byte_by_byte() {
        let req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nleftover";
        assert_eq!(
            read_all(req).await,
            Head::Complete(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec())
        );
    }

    #[tokio::test]
    async fn read_head_bare_newlines() {
        assert_eq!(
            read_all(b"GET / HTTP/1.0\n\n").await,
            Head::Complete(b"GET / HTTP/1.0\n\n".to_vec())
        );
    }

    #[tokio::test]
    async fn read_head_incomplete_then_closed() {
        assert_eq!(read_all(b"GET / HTTP/1.1\r\n").await, Head::Closed);
    }

    #[tokio::test]
    async fn read_head_too_large() {
        let mut req = b"GET / HTTP/1.1\r\n".to_vec();
        req.extend(std::iter::repeat_n(b'a', MAX_HEAD));
        req.extend_from_slice(b"\r\n\r\n");
        assert_eq!(read_all(&req).await, Head::TooLarge);
    }

    #[test]
    fn request_line() {
        assert_eq!(
            parse_request_line(b"GET /metrics?x=1 HTTP/1.1\r\n\r\n"),
            Some(("GET", "/metrics"))
        );
        assert_eq!(parse_request_line(b"GET /metrics HTTP/2\r\n\r\n"), None);
        assert_eq!(parse_request_line(b"GET  /metrics HTTP/1.1\r\n\r\n"), None);
        assert_eq!(parse_request_line(b"GET metrics HTTP/1.1\r\n\r\n"), None);
        assert_eq!(parse_request_line(b"\xff /x HTTP/1.1\r\n\r\n"), None);
    }

    #[tokio::test]
    async fn routes() {
        let s = state();
        let r = route("GET", "/healthz", &s).await;
        assert_eq!((r.status, r.body.as_slice()), (200, &b"ok\n"[..]));
        let r = route("GET", "/metrics", &s).await;
        assert_eq!(r.status, 200);
        assert!(
            r.content_type.starts_with("text/plain; version=0.0.4"),
            "{}",
            r.content_type
        );
        assert!(String::from_utf8(r.body)
            .unwrap()
            .contains("rokka_http_requests_total"));
        assert_eq!(route("POST", "/metrics", &s).await.status, 405);
        assert_eq!(route("GET", "/", &s).await.status, 404);
        // Membership changes need cluster mode (and POST).
        let r = route("POST", "/cluster/add-node/4@127.0.0.1:9093", &s).await;
        assert_eq!(
            (r.status, r.body.as_slice()),
            (404, &b"not in cluster mode\n"[..])
        );
        assert_eq!(
            route("POST", "/cluster/remove-node/4", &s).await.status,
            404
        );
        assert_eq!(route("GET", "/cluster/remove-node/4", &s).await.status, 404);
        let refused = membership_response(Err("node 1 is the master".into())).encode();
        assert!(refused.starts_with(b"HTTP/1.1 409 Conflict\r\n"));
        let head = route("HEAD", "/healthz", &s).await.encode();
        assert!(head.ends_with(b"Content-Length: 3\r\nConnection: close\r\n\r\n"));
    }

    #[test]
    fn encode_405_has_allow() {
        let r = Response {
            allow: true,
            ..Response::text(405, "method not allowed\n")
        };
        let text = String::from_utf8(r.encode()).unwrap();
        assert!(text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(text.contains("\r\nAllow: GET, HEAD\r\n"));
        assert!(text.ends_with("\r\n\r\nmethod not allowed\n"));
    }

    #[tokio::test]
    async fn serves_over_tcp_until_shutdown() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(run(listener, state(), async {
            let _ = stopped.await;
        }));
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        let mut reply = String::new();
        client.read_to_string(&mut reply).await.unwrap();
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        assert!(reply.ends_with("\r\n\r\nok\n"), "{reply}");
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap();
        assert!(TcpStream::connect(addr).await.is_err());
    }
}
