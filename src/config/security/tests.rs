//! Unit tests of the security keys: listeners, protocol map, TLS and SASL settings.

use super::*;

fn fin(d: SecurityDraft, primary: &str) -> Result<SecurityConfig, String> {
    finish(
        d,
        primary.parse().unwrap(),
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        &mut None,
    )
}

#[test]
fn jaas_plain_users() {
    let u = plain_users(
        "org.apache.kafka.common.security.plain.PlainLoginModule required \
         username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" \
         user_alice=\"a b;c\" user_bob=bobpw;",
    );
    assert_eq!(u.0.get("admin").map(String::as_str), Some("admin-secret"));
    assert_eq!(u.0.get("alice").map(String::as_str), Some("a b;c"));
    assert_eq!(u.0.get("bob").map(String::as_str), Some("bobpw"));
    assert_eq!(u.0.len(), 3);
    assert!(!format!("{u:?}").contains("secret"));
}

#[test]
fn several_listeners_with_protocol_map() {
    let mut d = SecurityDraft::default();
    let (host, port) = listeners(&mut d, "CLIENT://127.0.0.1:9092,SECURE://:9093").unwrap();
    assert_eq!((host, port), (Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), 9092));
    apply(
        &mut d,
        "listener.security.protocol.map",
        "CLIENT:PLAINTEXT,SECURE:SASL_SSL",
    )
    .unwrap()
    .unwrap();
    apply(
        &mut d,
        "listener.name.secure.ssl.keystore.location",
        "/k.pem",
    )
    .unwrap()
    .unwrap();
    apply(
        &mut d,
        "listener.name.secure.plain.sasl.jaas.config",
        "x required user_a=\"p\";",
    )
    .unwrap()
    .unwrap();
    let mut adv = None;
    let c = finish(
        d,
        "127.0.0.1:9092".parse().unwrap(),
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        &mut adv,
    )
    .unwrap();
    assert_eq!(c.kafka_listeners.len(), 2);
    let s = &c.kafka_listeners[1];
    assert_eq!(s.protocol, SecurityProtocol::SaslSsl);
    assert_eq!(s.addr, "0.0.0.0:9093".parse().unwrap());
    assert_eq!(s.tls.as_ref().unwrap().key, Pem::File("/k.pem".into()));
    assert_eq!(s.plain_users.0.len(), 1);
}

#[test]
fn refused_listener_settings() {
    let mut d = SecurityDraft::default();
    listeners(&mut d, "SSL://:9093").unwrap();
    let e = fin(d, "0.0.0.0:9093").unwrap_err();
    assert!(e.contains("ssl.keystore.location"), "{e}");
    let mut d = SecurityDraft::default();
    assert!(listeners(&mut d, "A://:1,A://:2").is_err());
    assert!(listeners(&mut d, "FOO://:1").is_ok());
    let e = fin(d, "0.0.0.0:1").unwrap_err();
    assert!(e.contains("listener.security.protocol.map"), "{e}");
    let mut d = SecurityDraft::default();
    apply(&mut d, "ssl.keystore.type", "JKS").unwrap().unwrap();
    apply(&mut d, "ssl.keystore.location", "/k.jks")
        .unwrap()
        .unwrap();
    listeners(&mut d, "SSL://:9093").unwrap();
    let e = fin(d, "0.0.0.0:9093").unwrap_err();
    assert!(e.contains("only PEM"), "{e}");
}

#[test]
fn rocketmq_tls_modes() {
    let m = |pairs: &[(&str, &str)]| {
        remoting_tls(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    };
    assert_eq!(m(&[]).unwrap().mode, TlsMode::Disabled);
    let p = m(&[("tls.server.certPath", "c"), ("tls.server.keyPath", "k")]).unwrap();
    assert_eq!(p.mode, TlsMode::Permissive);
    assert!(m(&[("tls.server.mode", "enforcing")]).is_err());
    let strict = m(&[
        ("tls.server.certPath", "c"),
        ("tls.server.keyPath", "k"),
        ("tls.server.authClient", "true"),
        ("tls.server.trustCertPath", "ca"),
        ("tls.server.mode", "enforcing"),
    ])
    .unwrap();
    assert_eq!(strict.mode, TlsMode::Enforcing);
    assert_eq!(strict.settings.unwrap().client_auth, ClientAuth::Required);
}
