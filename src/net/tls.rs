//! TLS for every listener (ADR 016): the server-side settings read from the
//! ecosystems' keys ([`TlsSettings`], PEM files or inline PEM), the rustls
//! configuration built from them, and [`MaybeTls`], the stream every
//! front-end serves so handlers never care whether a connection is
//! encrypted.
//!
//! A listener has a [`TlsMode`]: `Disabled` (plain only; a TLS ClientHello is
//! refused), `Enforcing` (TLS only; plain bytes fail the handshake) or
//! `Permissive` (RocketMQ's: the first byte decides — 0x16, a TLS handshake
//! record, starts TLS, anything else is served in plain text). Every refusal
//! bumps `rokka_tls_handshake_failures_total{listener, reason}` and logs one
//! rate-limited WARN line; no key material is ever logged.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

use prometheus::{IntCounterVec, Opts, Registry};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

/// How long a plain-text listener looks for a TLS ClientHello before serving.
const PLAIN_PEEK: Duration = Duration::from_millis(250);

/// First byte of a TLS record carrying a handshake message (ClientHello).
pub const TLS_HANDSHAKE_RECORD: u8 = 0x16;

static FAILURES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    IntCounterVec::new(
        Opts::new(
            "rokka_tls_handshake_failures_total",
            "Connections closed before serving because of TLS, by listener and reason \
             (handshake, timeout, tls_on_plain_port, plain_on_tls_port).",
        ),
        &["listener", "reason"],
    )
    .expect("static metric definition is valid")
});

/// Registers `rokka_tls_handshake_failures_total` with `registry`.
pub fn register(registry: &Registry) -> prometheus::Result<()> {
    registry.register(Box::new(FAILURES.clone()))
}

/// Whether a TLS client certificate is asked for (Kafka `ssl.client.auth`,
/// RocketMQ `tls.server.need.client.auth` / `tls.server.authClient`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// No certificate asked for (`none`).
    #[default]
    None,
    /// Asked for; a connection without one is served, a bad one refused
    /// (`requested`, RocketMQ `optional`).
    Requested,
    /// A valid certificate is required (`required`, RocketMQ `require`).
    Required,
}

impl std::str::FromStr for ClientAuth {
    type Err = String;

    fn from_str(v: &str) -> Result<ClientAuth, String> {
        match v.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(ClientAuth::None),
            "requested" | "optional" => Ok(ClientAuth::Requested),
            "required" | "require" => Ok(ClientAuth::Required),
            _ => Err("expected none, requested or required".to_string()),
        }
    }
}

/// PEM given as a file path or inline (Kafka's `ssl.keystore.certificate.chain`
/// and `ssl.keystore.key` hold the PEM text itself).
#[derive(Clone, PartialEq, Eq)]
pub enum Pem {
    /// A file holding PEM blocks.
    File(PathBuf),
    /// The PEM text.
    Inline(String),
}

impl std::fmt::Debug for Pem {
    // Inline PEM may hold a private key: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pem::File(p) => write!(f, "File({})", p.display()),
            Pem::Inline(_) => f.write_str("Inline(..)"),
        }
    }
}

impl Pem {
    /// A value that starts with `-----BEGIN` is PEM text; anything else a path.
    pub fn from_value(v: &str) -> Pem {
        if v.trim_start().starts_with("-----BEGIN") {
            Pem::Inline(v.to_string())
        } else {
            Pem::File(PathBuf::from(v.trim()))
        }
    }

    fn bytes(&self) -> Result<Vec<u8>, TlsError> {
        match self {
            Pem::File(p) => std::fs::read(p).map_err(|source| TlsError::Read {
                path: p.clone(),
                source,
            }),
            Pem::Inline(s) => Ok(normalize_pem(s).into_bytes()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Pem::File(p) => p.display().to_string(),
            Pem::Inline(_) => "inline PEM".to_string(),
        }
    }
}

/// Server-side TLS settings of one listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The certificate chain, leaf first.
    pub cert_chain: Pem,
    /// The private key (PKCS#8, PKCS#1 or SEC1; unencrypted).
    pub key: Pem,
    /// Client certificates.
    pub client_auth: ClientAuth,
    /// CA certificates client certificates must chain to (needed unless
    /// `client_auth` is `None`).
    pub trust: Option<Pem>,
}

/// Why TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The PEM holds nothing usable.
    #[error("{what} ({source_name}): {reason}")]
    Pem {
        /// Which setting.
        what: &'static str,
        /// The file or "inline PEM".
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the combination.
    #[error("TLS configuration refused: {0}")]
    Rustls(String),
}

impl TlsSettings {
    /// Builds the rustls server configuration (ring provider, TLS 1.2 and 1.3).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let chain_bytes = self.cert_chain.bytes()?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&chain_bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| pem_error("certificate chain", &self.cert_chain, e.to_string()))?;
        if chain.is_empty() {
            return Err(pem_error(
                "certificate chain",
                &self.cert_chain,
                "no CERTIFICATE block".to_string(),
            ));
        }
        let key_bytes = self.key.bytes()?;
        // The error text of a key parse could quote key bytes: keep it generic.
        let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|_| {
            pem_error(
                "private key",
                &self.key,
                "no unencrypted PRIVATE KEY block (PKCS#8, RSA or EC)".to_string(),
            )
        })?;
        // ring: the provider that builds without cmake (ADR 016).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        let builder = match self.client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            auth => {
                let trust = self.trust.as_ref().ok_or_else(|| TlsError::Pem {
                    what: "trust store",
                    source_name: "none".to_string(),
                    reason: "client authentication needs trusted CA certificates".to_string(),
                })?;
                let mut roots = RootCertStore::empty();
                let bytes = trust.bytes()?;
                for cert in CertificateDer::pem_slice_iter(&bytes) {
                    let cert = cert.map_err(|e| pem_error("trust store", trust, e.to_string()))?;
                    roots
                        .add(cert)
                        .map_err(|e| pem_error("trust store", trust, e.to_string()))?;
                }
                if roots.is_empty() {
                    return Err(pem_error(
                        "trust store",
                        trust,
                        "no CERTIFICATE block".to_string(),
                    ));
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let verifier = if auth == ClientAuth::Requested {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(
                    verifier
                        .build()
                        .map_err(|e| TlsError::Rustls(e.to_string()))?,
                )
            }
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        config.alpn_protocols.clear();
        Ok(Arc::new(config))
    }
}

/// Inline PEM from a properties file loses its line breaks when written
/// with `\` continuations (Kafka accepts that): rebuild `-----BEGIN X-----`,
/// the base64 body without blanks, and `-----END X-----` on lines of their own.
fn normalize_pem(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(b) = rest.find("-----BEGIN ") {
        let after = &rest[b + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].trim();
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(e) = body_start.find(&end_marker) else {
            break;
        };
        let body: String = body_start[..e]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push_str(&format!("-----BEGIN {label}-----\n"));
        for line in body.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str(&end_marker);
        out.push('\n');
        rest = &body_start[e + end_marker.len()..];
    }
    out
}

fn pem_error(what: &'static str, pem: &Pem, reason: String) -> TlsError {
    TlsError::Pem {
        what,
        source_name: pem.describe(),
        reason,
    }
}

/// How a listener treats TLS (RocketMQ `tls.server.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain text only.
    #[default]
    Disabled,
    /// TLS or plain text on the same port, told apart by the first byte.
    Permissive,
    /// TLS only.
    Enforcing,
}

impl std::str::FromStr for TlsMode {
    type Err = String;

    fn from_str(v: &str) -> Result<TlsMode, String> {
        match v.trim().to_ascii_lowercase().as_str() {
            "disabled" => Ok(TlsMode::Disabled),
            "permissive" => Ok(TlsMode::Permissive),
            "enforcing" => Ok(TlsMode::Enforcing),
            _ => Err("expected disabled, permissive or enforcing".to_string()),
        }
    }
}

/// What a listener does with a new connection before serving it.
#[derive(Clone)]
pub struct ListenerTls {
    /// The metric and log label of the listener.
    pub listener: &'static str,
    mode: TlsMode,
    acceptor: Option<TlsAcceptor>,
}

impl std::fmt::Debug for ListenerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerTls")
            .field("listener", &self.listener)
            .field("mode", &self.mode)
            .finish()
    }
}

impl ListenerTls {
    /// A plain-text listener.
    pub fn plain(listener: &'static str) -> ListenerTls {
        ListenerTls {
            listener,
            mode: TlsMode::Disabled,
            acceptor: None,
        }
    }

    /// A listener in `mode` with `settings` (needed unless `mode` is `Disabled`).
    pub fn new(
        listener: &'static str,
        mode: TlsMode,
        settings: Option<&TlsSettings>,
    ) -> Result<ListenerTls, TlsError> {
        ListenerTls::with_alpn(listener, mode, settings, &[])
    }

    /// Like [`ListenerTls::new`], offering the ALPN protocols `alpn` (gRPC
    /// clients require `h2`).
    pub fn with_alpn(
        listener: &'static str,
        mode: TlsMode,
        settings: Option<&TlsSettings>,
        alpn: &[&[u8]],
    ) -> Result<ListenerTls, TlsError> {
        let acceptor = match (mode, settings) {
            (TlsMode::Disabled, _) => None,
            (_, Some(s)) => {
                let mut config = s.server_config()?;
                if !alpn.is_empty() {
                    let mut c = (*config).clone();
                    c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
                    config = Arc::new(c);
                }
                Some(TlsAcceptor::from(config))
            }
            (_, None) => {
                return Err(TlsError::Rustls(format!(
                    "listener {listener}: TLS is on but no certificate and key are configured"
                )))
            }
        };
        Ok(ListenerTls {
            listener,
            mode,
            acceptor,
        })
    }

    /// The mode.
    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    /// Looks at the first byte (waiting at most `wait`) and runs the TLS
    /// handshake if the mode calls for it. `None`: the connection is refused
    /// (counted and logged) or closed before sending anything.
    pub async fn accept(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        wait: Duration,
    ) -> Option<MaybeTls> {
        // A plain-text listener only peeks to count a TLS ClientHello sent to
        // it (clients send theirs at once); a silent client is served after a
        // short look, so the listener's idle timeout, not the frame read
        // timeout plus the idle timeout, decides when it is closed.
        let wait = if self.mode == TlsMode::Disabled {
            wait.min(PLAIN_PEEK)
        } else {
            wait
        };
        let first = match tokio::time::timeout(wait, peek_first(&stream)).await {
            Ok(Ok(Some(b))) => b,
            // Closed before a byte, or a read error: nothing to serve.
            Ok(Ok(None)) | Ok(Err(_)) => return None,
            Err(_) if self.mode == TlsMode::Disabled => return Some(MaybeTls::Plain(stream)),
            Err(_) => {
                self.refuse(peer, "timeout", "no TLS handshake started in time");
                return None;
            }
        };
        let hello = first == TLS_HANDSHAKE_RECORD;
        let acceptor = match (self.mode, hello, &self.acceptor) {
            (TlsMode::Disabled, true, _) => {
                self.refuse(
                    peer,
                    "tls_on_plain_port",
                    "TLS ClientHello on a plain-text listener",
                );
                return None;
            }
            (TlsMode::Enforcing, false, _) => {
                self.refuse(
                    peer,
                    "plain_on_tls_port",
                    "plain-text bytes on a TLS-only listener",
                );
                return None;
            }
            (_, true, Some(a)) => a.clone(),
            _ => return Some(MaybeTls::Plain(stream)),
        };
        match tokio::time::timeout(wait, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => Some(MaybeTls::Tls(Box::new(tls))),
            Ok(Err(e)) => {
                self.refuse(peer, "handshake", &e.to_string());
                None
            }
            Err(_) => {
                self.refuse(peer, "timeout", "TLS handshake not complete in time");
                None
            }
        }
    }

    fn refuse(&self, peer: SocketAddr, reason: &'static str, detail: &str) {
        FAILURES.with_label_values(&[self.listener, reason]).inc();
        let listener = self.listener;
        super::log_limit::warn(|suppressed| {
            tracing::warn!(
                listener,
                %peer,
                reason,
                detail,
                suppressed,
                "TLS refused, closing the connection"
            );
        });
    }
}

/// The first byte the client sent, without consuming it; `None` at EOF.
async fn peek_first(stream: &TcpStream) -> io::Result<Option<u8>> {
    let mut b = [0u8; 1];
    let n = stream.peek(&mut b).await?;
    Ok((n == 1).then_some(b[0]))
}

/// A served connection: plain TCP or TLS over TCP.
#[derive(Debug)]
pub enum MaybeTls {
    /// Plain text.
    Plain(TcpStream),
    /// TLS (boxed: the session state is large).
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl MaybeTls {
    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self, MaybeTls::Tls(_))
    }

    /// The underlying TCP stream (addresses, socket options).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTls::Plain(s) => s,
            MaybeTls::Tls(s) => s.get_ref().0,
        }
    }

    /// The client's certificate chain (leaf first), if it sent one over TLS.
    pub fn peer_certificates(&self) -> Option<Vec<CertificateDer<'static>>> {
        match self {
            MaybeTls::Plain(_) => None,
            MaybeTls::Tls(s) => s
                .get_ref()
                .1
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect()),
        }
    }
}

impl AsyncRead for MaybeTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTls::Plain(s) => s.is_write_vectored(),
            MaybeTls::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests;
