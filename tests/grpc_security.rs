//! TLS and RocketMQ ACL 1.0 on the gRPC port (ADR 027) against the real
//! `rokka` executable: requests signed as the 5.x SDKs sign them
//! (`authorization: MQv2-HMAC-SHA1 …`, hex HMAC-SHA1 of `x-mq-date-time`)
//! are admitted or refused with UNAUTHORIZED (40100) / FORBIDDEN (40300)
//! per RPC and resource, with the remoting ACL's metrics; and with
//! `tls.server.mode=permissive` one port serves plain h2 and TLS (ALPN h2).

mod support;

use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::Message as _;
use rokka::grpc::pb::messaging_service_client::MessagingServiceClient;
use rokka::grpc::pb::receive_message_response::Content;
use rokka::grpc::pb::*;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use support::grpc::{client, res};
use support::Rokka;
use tonic::transport::Channel;

const ACL: &str = "accounts:
  - accessKey: grpc-writer
    secretKey: writer-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - GA=PUB
  - accessKey: grpc-reader
    secretKey: reader-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - GA=SUB
    groupPerms:
      - ga-group=SUB
";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn code(s: &Option<Status>) -> Code {
    Code::try_from(s.as_ref().map_or(0, |s| s.code)).unwrap()
}

/// `x-mq-date-time` and `authorization` as the SDKs compute them.
fn signed<T>(msg: T, ak: &str, sk: &str) -> tonic::Request<T> {
    let date = "20261206T101010Z";
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, sk.as_bytes()),
        date.as_bytes(),
    );
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let mut r = tonic::Request::new(msg);
    let m = r.metadata_mut();
    m.insert("x-mq-date-time", date.parse().unwrap());
    let auth =
        format!("MQv2-HMAC-SHA1 Credential={ak}, SignedHeaders=x-mq-date-time, Signature={hex}");
    m.insert("authorization", auth.parse().unwrap());
    r
}

fn send_req(topic: &str) -> SendMessageRequest {
    SendMessageRequest {
        messages: vec![Message {
            topic: res(topic),
            user_properties: Default::default(),
            system_properties: Some(SystemProperties {
                message_id: "ID1".into(),
                message_type: MessageType::Normal as i32,
                ..Default::default()
            }),
            body: b"hello".to_vec(),
        }],
    }
}

fn receive_req(group: &str, topic: &str) -> ReceiveMessageRequest {
    ReceiveMessageRequest {
        batch_size: 8,
        ..support::grpc::receive_request(group, topic, 10_000, 1_000)
    }
}

/// The status and messages of a ReceiveMessage stream.
async fn receive(
    c: &mut MessagingServiceClient<Channel>,
    req: tonic::Request<ReceiveMessageRequest>,
) -> (Code, usize) {
    let mut stream = c.receive_message(req).await.unwrap().into_inner();
    let (mut status, mut n) = (Code::Unspecified, 0);
    while let Some(r) = stream.message().await.unwrap() {
        match r.content {
            Some(Content::Status(s)) => status = Code::try_from(s.code).unwrap(),
            Some(Content::Message(_)) => n += 1,
            _ => {}
        }
    }
    (status, n)
}

#[test]
fn acl_admits_signed_requests_and_refuses_per_resource() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain_acl.yml");
    std::fs::write(&file, ACL).unwrap();
    let file_arg = format!("rokka.aclFile={}", file.display());
    let r = Rokka::start_with(
        0,
        &["--override", "aclEnable=true", "--override", &file_arg],
    );
    rt().block_on(async {
        let mut c = client(r.grpc).await;
        // Unsigned, unknown key, wrong secret: UNAUTHORIZED.
        let s = c.send_message(send_req("GA")).await.unwrap().into_inner();
        assert_eq!(code(&s.status), Code::Unauthorized, "{s:?}");
        let s = c
            .send_message(signed(send_req("GA"), "nobody", "x"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&s.status), Code::Unauthorized, "{s:?}");
        let s = c
            .send_message(signed(send_req("GA"), "grpc-writer", "wrong"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&s.status), Code::Unauthorized, "{s:?}");
        assert!(s.status.unwrap().message.contains("Check signature failed"));
        // The writer publishes to GA only; the reader cannot publish.
        let s = c
            .send_message(signed(send_req("GA"), "grpc-writer", "writer-secret"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&s.status), Code::Ok, "{s:?}");
        let s = c
            .send_message(signed(send_req("GB"), "grpc-writer", "writer-secret"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&s.status), Code::Forbidden, "{s:?}");
        let s = c
            .send_message(signed(send_req("GA"), "grpc-reader", "reader-secret"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&s.status), Code::Forbidden, "{s:?}");
        // Route: either permission; receive: SUB on topic and group.
        let route = |ak: &'static str, sk: &'static str| {
            signed(
                QueryRouteRequest {
                    topic: res("GA"),
                    endpoints: None,
                },
                ak,
                sk,
            )
        };
        let q = c.query_route(route("grpc-writer", "writer-secret")).await;
        assert_eq!(code(&q.unwrap().into_inner().status), Code::Ok);
        let q = c.query_route(route("grpc-reader", "reader-secret")).await;
        assert_eq!(code(&q.unwrap().into_inner().status), Code::Ok);
        let req = signed(
            receive_req("ga-group", "GA"),
            "grpc-reader",
            "reader-secret",
        );
        assert_eq!(receive(&mut c, req).await, (Code::Ok, 1));
        let req = signed(receive_req("other", "GA"), "grpc-reader", "reader-secret");
        assert_eq!(receive(&mut c, req).await, (Code::Forbidden, 0));
        let req = signed(
            receive_req("ga-group", "GA"),
            "grpc-writer",
            "writer-secret",
        );
        assert_eq!(receive(&mut c, req).await.0, Code::Forbidden);
    });
    let m = r.metrics();
    let line = |prefix: &str| {
        m.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {m}"))
            .to_string()
    };
    assert!(line(
        "rokka_authentications_total{listener=\"grpc\",mechanism=\"ACL\",result=\"failure\"}"
    )
    .ends_with(" 3"));
    assert!(
        line("rokka_authorization_denials_total{protocol=\"grpc\",resource_type=\"topic\"}")
            .ends_with(" 3")
    );
    assert!(
        line("rokka_authorization_denials_total{protocol=\"grpc\",resource_type=\"group\"}")
            .ends_with(" 1")
    );
}

/// Self-signed server certificate for `localhost` (no files committed).
fn server_pem() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// One unary gRPC call over HTTP/2 on `io`: QueryRoute of `topic`.
async fn h2_query_route<T>(io: T, topic: &str) -> Code
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (h2, conn) = h2::client::handshake(io).await.unwrap();
    tokio::spawn(conn);
    let mut h2 = h2.ready().await.unwrap();
    let req =
        http::Request::post("http://localhost/apache.rocketmq.v2.MessagingService/QueryRoute")
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .unwrap();
    let msg = QueryRouteRequest {
        topic: res(topic),
        endpoints: None,
    }
    .encode_to_vec();
    let mut frame = BytesMut::new();
    frame.put_u8(0);
    frame.put_u32(msg.len() as u32);
    frame.put_slice(&msg);
    let (resp, mut send) = h2.send_request(req, false).unwrap();
    send.send_data(frame.freeze(), true).unwrap();
    let mut body = resp.await.unwrap().into_body();
    let mut got = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let chunk: Bytes = chunk.unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        got.extend_from_slice(&chunk);
    }
    assert!(got.len() > 5, "a response message");
    got.advance(5);
    code(&QueryRouteResponse::decode(got.freeze()).unwrap().status)
}

/// A rokka with `tls.server.mode=mode` and a fresh certificate (PEM returned).
fn start_tls(mode: &str) -> (Rokka, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = server_pem();
    std::fs::write(dir.path().join("s.pem"), &cert).unwrap();
    std::fs::write(dir.path().join("s.key"), &key).unwrap();
    let c = format!("tls.server.certPath={}", dir.path().join("s.pem").display());
    let k = format!("tls.server.keyPath={}", dir.path().join("s.key").display());
    let m = format!("tls.server.mode={mode}");
    let args = ["--override", &m, "--override", &c, "--override", &k];
    (Rokka::start_with(0, &args), cert, dir)
}

#[test]
fn enforcing_tls_refuses_plain_grpc() {
    let (r, _cert, _dir) = start_tls("enforcing");
    rt().block_on(async {
        let plain = MessagingServiceClient::connect(format!("http://{}", r.grpc)).await;
        let refused = match plain {
            Err(_) => true,
            Ok(mut c) => c
                .query_route(QueryRouteRequest {
                    topic: res("GE"),
                    endpoints: None,
                })
                .await
                .is_err(),
        };
        assert!(refused, "plain text served on an enforcing port");
    });
    let m = r.metrics();
    assert!(
        m.contains(
            "rokka_tls_handshake_failures_total{listener=\"grpc\",reason=\"plain_on_tls_port\"}"
        ),
        "{m}"
    );
}

#[test]
fn permissive_tls_serves_plain_and_tls_h2_on_one_port() {
    let (r, cert, _dir) = start_tls("permissive");
    rt().block_on(async {
        // Plain text (tonic's own client).
        let mut plain = client(r.grpc).await;
        let q = plain
            .query_route(QueryRouteRequest {
                topic: res("GT"),
                endpoints: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&q.status), Code::Ok);
        // TLS with ALPN h2, the certificate checked against itself.
        let mut roots = rustls::RootCertStore::empty();
        for der in CertificateDer::pem_slice_iter(cert.as_bytes()) {
            roots.add(der.unwrap()).unwrap();
        }
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let tcp = tokio::net::TcpStream::connect(r.grpc).await.unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        assert_eq!(h2_query_route(tls, "GT").await, Code::Ok);
    });
}
