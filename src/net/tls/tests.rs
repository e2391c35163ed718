//! The TLS step of a listener against a real rustls client, with
//! certificates made by rcgen for the test (none are committed).

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;

use super::*;

/// A CA, a server certificate for `localhost` and a client certificate, as PEM.
pub(crate) struct TestPki {
    pub ca: String,
    pub server_chain: String,
    pub server_key: String,
    pub client_chain: String,
    pub client_key: String,
}

pub(crate) fn pki() -> TestPki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "rokka test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf = |names: Vec<String>, cn: &str| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(names).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_chain, server_key) = leaf(vec!["localhost".into()], "localhost");
    let (client_chain, client_key) = leaf(vec![], "alice");
    TestPki {
        ca: ca.pem(),
        server_chain,
        server_key,
        client_chain,
        client_key,
    }
}

fn settings(p: &TestPki, client_auth: ClientAuth) -> TlsSettings {
    TlsSettings {
        cert_chain: Pem::Inline(p.server_chain.clone()),
        key: Pem::Inline(p.server_key.clone()),
        client_auth,
        trust: Some(Pem::Inline(p.ca.clone())),
    }
}

pub(crate) fn client_config(p: &TestPki, with_cert: bool) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(p.ca.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let c = if with_cert {
        let chain = CertificateDer::pem_slice_iter(p.client_chain.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(p.client_key.as_bytes()).unwrap();
        b.with_client_auth_cert(chain, key).unwrap()
    } else {
        b.with_no_client_auth()
    };
    Arc::new(c)
}

/// Serves one connection: the TLS step, then echo one 4-byte message.
async fn echo_server(tls: ListenerTls) -> (SocketAddr, tokio::task::JoinHandle<bool>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (s, peer) = l.accept().await.unwrap();
        let Some(mut s) = tls.accept(s, peer, Duration::from_secs(5)).await else {
            return false;
        };
        let mut b = [0u8; 4];
        if s.read_exact(&mut b).await.is_err() {
            return false;
        }
        s.write_all(&b).await.is_ok() && s.flush().await.is_ok()
    });
    (addr, task)
}

async fn tls_roundtrip(addr: SocketAddr, config: Arc<ClientConfig>) -> bool {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let Ok(mut s) = TlsConnector::from(config).connect(name, tcp).await else {
        return false;
    };
    if s.write_all(b"ping").await.is_err() || s.flush().await.is_err() {
        return false;
    }
    let mut b = [0u8; 4];
    s.read_exact(&mut b).await.is_ok() && &b == b"ping"
}

async fn plain_roundtrip(addr: SocketAddr) -> bool {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"ping").await.unwrap();
    let mut b = [0u8; 4];
    s.read_exact(&mut b).await.is_ok() && &b == b"ping"
}

fn failures(listener: &str, reason: &str) -> u64 {
    FAILURES.with_label_values(&[listener, reason]).get()
}

#[tokio::test]
async fn enforcing_serves_tls_and_refuses_plain_bytes() {
    let p = pki();
    let tls = ListenerTls::new(
        "t_enf",
        TlsMode::Enforcing,
        Some(&settings(&p, ClientAuth::None)),
    )
    .unwrap();
    let (addr, server) = echo_server(tls.clone()).await;
    assert!(tls_roundtrip(addr, client_config(&p, false)).await);
    assert!(server.await.unwrap());

    let (addr, server) = echo_server(tls).await;
    assert!(!plain_roundtrip(addr).await);
    assert!(!server.await.unwrap());
    assert_eq!(failures("t_enf", "plain_on_tls_port"), 1);
}

#[tokio::test]
async fn disabled_refuses_a_client_hello() {
    let (addr, server) = echo_server(ListenerTls::plain("t_dis")).await;
    let p = pki();
    assert!(!tls_roundtrip(addr, client_config(&p, false)).await);
    assert!(!server.await.unwrap());
    assert_eq!(failures("t_dis", "tls_on_plain_port"), 1);
    let (addr, server) = echo_server(ListenerTls::plain("t_dis")).await;
    assert!(plain_roundtrip(addr).await);
    assert!(server.await.unwrap());
}

#[tokio::test]
async fn permissive_serves_both_on_one_port() {
    let p = pki();
    let tls = ListenerTls::new(
        "t_perm",
        TlsMode::Permissive,
        Some(&settings(&p, ClientAuth::None)),
    )
    .unwrap();
    let (addr, server) = echo_server(tls.clone()).await;
    assert!(plain_roundtrip(addr).await);
    assert!(server.await.unwrap());
    let (addr, server) = echo_server(tls).await;
    assert!(tls_roundtrip(addr, client_config(&p, false)).await);
    assert!(server.await.unwrap());
}

#[tokio::test]
async fn required_client_auth_needs_a_trusted_certificate() {
    let p = pki();
    let tls = ListenerTls::new(
        "t_mtls",
        TlsMode::Enforcing,
        Some(&settings(&p, ClientAuth::Required)),
    )
    .unwrap();
    let (addr, server) = echo_server(tls.clone()).await;
    assert!(!tls_roundtrip(addr, client_config(&p, false)).await);
    assert!(!server.await.unwrap());
    assert_eq!(failures("t_mtls", "handshake"), 1);
    let (addr, server) = echo_server(tls).await;
    assert!(tls_roundtrip(addr, client_config(&p, true)).await);
    assert!(server.await.unwrap());
}

#[test]
fn inline_pem_without_line_breaks_is_read() {
    let p = pki();
    // What a properties file with `\` continuations yields: no newlines.
    let flat = |s: &str| s.lines().collect::<Vec<_>>().join(" ");
    let s = TlsSettings {
        cert_chain: Pem::Inline(flat(&p.server_chain)),
        key: Pem::Inline(flat(&p.server_key)),
        client_auth: ClientAuth::None,
        trust: None,
    };
    assert!(s.server_config().is_ok());
    let bad = TlsSettings {
        key: Pem::Inline("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into()),
        ..s
    };
    let e = bad.server_config().unwrap_err().to_string();
    assert!(!e.contains("AAAA"), "no key bytes in errors: {e}");
}
