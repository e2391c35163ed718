//! RocketMQ ACL 1.0 on the gRPC port (ADR 027): with `aclEnable=true` every
//! RPC is authenticated from the 5.x SDKs' `authorization` header
//! (`MQv2-HMAC-SHA1 Credential=<AK>, SignedHeaders=x-mq-date-time,
//! Signature=<hex HMAC-SHA1 of the x-mq-date-time value>`) against the
//! `plain_acl.yml` accounts the remoting port uses, then authorized with the
//! same resource rules (PUB for send and end-transaction, SUB on topic and
//! group for receive, ack, change-invisible-duration and DLQ forwarding, any
//! of them for a route query). A refusal is an ordinary response of the
//! method whose `status` is UNAUTHORIZED (40100, identity) or FORBIDDEN
//! (40300, permission), as the SDKs expect, with the metrics of the remoting
//! ACL under `listener="grpc"` / `protocol="grpc"`.
//!
//! The check wraps the generated service at the HTTP level, so it needs no
//! change when RPCs are added: a method it does not know (and the Telemetry
//! stream) is authenticated only.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use http_body::Frame;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use prometheus::IntCounter;
use prost::Message as _;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::transport::server::TcpConnectInfo;
use tower_service::Service;

use super::pb;
use crate::remoting::context::Ctx;
use crate::security::plain_acl::{group_key, perm, AclRequest, PlainAcl};
use crate::security::{authentication_counter, count_denial, Principal};

static FAILURES: LazyLock<IntCounter> =
    LazyLock::new(|| authentication_counter("grpc", "ACL", false));
static SUCCESSES: LazyLock<IntCounter> =
    LazyLock::new(|| authentication_counter("grpc", "ACL", true));

/// The signed header the SDKs name in `SignedHeaders`.
const DATE_TIME: &str = "x-mq-date-time";

/// The generated service `S` behind the ACL check.
#[derive(Clone)]
pub(crate) struct Acl<S> {
    inner: S,
    ctx: Arc<Ctx>,
}

impl<S> Acl<S> {
    pub(crate) fn new(inner: S, ctx: Arc<Ctx>) -> Acl<S> {
        Acl { inner, ctx }
    }
}

impl<S: NamedService> NamedService for Acl<S> {
    const NAME: &'static str = S::NAME;
}

/// `(Credential, Signature)` of an `authorization` value.
pub(crate) fn parse_authorization(v: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = v.trim().split_once(' ')?;
    if scheme != "MQv2-HMAC-SHA1" {
        return None;
    }
    let (mut ak, mut sig) = (None, None);
    for item in rest.split(',') {
        match item.trim().split_once('=') {
            // A credential may carry a scope after a slash.
            Some(("Credential", c)) => ak = c.split('/').next(),
            Some(("Signature", s)) => sig = Some(s),
            _ => {}
        }
    }
    Some((ak?, sig?))
}

/// The methods checked per resource by [`needed`].
const BY_RESOURCE: &[&str] = &[
    "SendMessage",
    "EndTransaction",
    "QueryRoute",
    "QueryAssignment",
    "ReceiveMessage",
    "AckMessage",
    "ChangeInvisibleDuration",
    "ForwardMessageToDeadLetterQueue",
    "Heartbeat",
    "NotifyClientTermination",
    "QueryOffset",
    "GetOffset",
    "UpdateOffset",
    "PullMessage",
];

/// The resources an RPC needs (groups as `%RETRY%<group>`), from its request
/// message; `None` for a method checked by identity only.
pub(crate) fn needed(method: &str, msg: &[u8]) -> Option<Result<Vec<(String, u8)>, String>> {
    fn topic(r: &Option<pb::Resource>) -> Option<String> {
        r.as_ref().map(|r| r.name.clone())
    }
    fn group(r: &Option<pb::Resource>) -> Option<String> {
        r.as_ref().map(|r| group_key(&r.name))
    }
    fn sub(t: Option<String>, g: Option<String>) -> Vec<(String, u8)> {
        [t, g]
            .into_iter()
            .flatten()
            .map(|r| (r, perm::SUB))
            .collect()
    }
    let e = |e: prost::DecodeError| e.to_string();
    let out = match method {
        "SendMessage" => pb::SendMessageRequest::decode(msg).map_err(e).map(|r| {
            let mut t: Vec<_> = r.messages.iter().filter_map(|m| topic(&m.topic)).collect();
            t.sort();
            t.dedup();
            t.into_iter().map(|t| (t, perm::PUB)).collect()
        }),
        "EndTransaction" => pb::EndTransactionRequest::decode(msg).map_err(e).map(|r| {
            topic(&r.topic)
                .map(|t| (t, perm::PUB))
                .into_iter()
                .collect()
        }),
        "QueryRoute" => pb::QueryRouteRequest::decode(msg).map_err(e).map(|r| {
            topic(&r.topic)
                .map(|t| (t, perm::ANY))
                .into_iter()
                .collect()
        }),
        "QueryAssignment" => pb::QueryAssignmentRequest::decode(msg)
            .map_err(e)
            .map(|r| sub(topic(&r.topic), group(&r.group))),
        "ReceiveMessage" => pb::ReceiveMessageRequest::decode(msg).map_err(e).map(|r| {
            let t = r.message_queue.as_ref().and_then(|q| topic(&q.topic));
            sub(t, group(&r.group))
        }),
        "AckMessage" => pb::AckMessageRequest::decode(msg)
            .map_err(e)
            .map(|r| sub(topic(&r.topic), group(&r.group))),
        "ChangeInvisibleDuration" => pb::ChangeInvisibleDurationRequest::decode(msg)
            .map_err(e)
            .map(|r| sub(topic(&r.topic), group(&r.group))),
        "ForwardMessageToDeadLetterQueue" => {
            pb::ForwardMessageToDeadLetterQueueRequest::decode(msg)
                .map_err(e)
                .map(|r| sub(topic(&r.topic), group(&r.group)))
        }
        "Heartbeat" => pb::HeartbeatRequest::decode(msg).map_err(e).map(|r| {
            let producer = r.client_type == pb::ClientType::Producer as i32;
            sub(None, group(&r.group).filter(|_| !producer))
        }),
        "NotifyClientTermination" => pb::NotifyClientTerminationRequest::decode(msg)
            .map_err(e)
            .map(|r| sub(None, group(&r.group))),
        "QueryOffset" => pb::QueryOffsetRequest::decode(msg).map_err(e).map(|r| {
            let t = r.message_queue.as_ref().and_then(|q| topic(&q.topic));
            sub(t, None)
        }),
        "GetOffset" => pb::GetOffsetRequest::decode(msg).map_err(e).map(|r| {
            let t = r.message_queue.as_ref().and_then(|q| topic(&q.topic));
            sub(t, group(&r.group))
        }),
        "UpdateOffset" => pb::UpdateOffsetRequest::decode(msg).map_err(e).map(|r| {
            let t = r.message_queue.as_ref().and_then(|q| topic(&q.topic));
            sub(t, group(&r.group))
        }),
        "PullMessage" => pb::PullMessageRequest::decode(msg).map_err(e).map(|r| {
            let t = r.message_queue.as_ref().and_then(|q| topic(&q.topic));
            sub(t, group(&r.group))
        }),
        _ => return None,
    };
    Some(out)
}

/// A gRPC response of one message whose field 1 is `Status{code, message}`:
/// every response of the v2 API (and a TelemetryCommand) has its status
/// there, so one encoding answers any method.
fn refusal(code: pb::Code, message: String) -> http::Response<Body> {
    let msg = pb::HeartbeatResponse {
        status: super::status(code, message),
    }
    .encode_to_vec();
    let mut data = BytesMut::with_capacity(5 + msg.len());
    data.put_u8(0);
    data.put_u32(msg.len() as u32);
    data.put_slice(&msg);
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    let frames = [
        Ok::<_, Infallible>(Frame::data(data.freeze())),
        Ok(Frame::trailers(trailers)),
    ];
    let body = StreamBody::new(tokio_stream::iter(frames));
    let mut resp = http::Response::new(Body::new(body));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    resp
}

/// The length-prefixed message of a unary request body (uncompressed).
fn unframe(body: &[u8]) -> Result<&[u8], String> {
    match body {
        [0, len @ ..] if len.len() >= 4 => {
            let n = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            len.get(4..4 + n)
                .filter(|m| m.len() + 4 == len.len())
                .ok_or_else(|| "not one gRPC message".to_string())
        }
        [1, ..] => Err("compressed requests are not accepted with ACL on".to_string()),
        _ => Err("not one gRPC message".to_string()),
    }
}

/// Checks one request; `Err` is the refusal to send instead.
fn check(
    ctx: &Ctx,
    acl: &PlainAcl,
    head: &http::request::Parts,
    method: &str,
    resources: Vec<(String, u8)>,
) -> Result<(), http::Response<Body>> {
    acl.reload_if_changed();
    let peer = head
        .extensions
        .get::<TcpConnectInfo>()
        .and_then(|c| c.remote_addr)
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| {
            a.ip().to_canonical()
        });
    let header = |k: &str| head.headers.get(k).and_then(|v| v.to_str().ok());
    let auth = header("authorization").and_then(parse_authorization);
    let (ak, sig) = auth.map_or((None, ""), |(a, s)| (Some(a), s));
    let request = AclRequest {
        code: 0,
        admin_code: false,
        peer,
        ext: None,
        body: &[],
        resources,
    };
    let host = peer.to_string();
    let fallback = |ak: &str, name: &str, group: bool, p: u8| {
        crate::remoting::acl::kafka_grant(ctx, &host, ak, name, group, p)
    };
    let signed = header(DATE_TIME).unwrap_or_default().as_bytes();
    match acl.check_signed(&request, ak, signed, sig, &fallback) {
        Ok(_) => {
            SUCCESSES.inc();
            Ok(())
        }
        Err(r) => {
            let who = ak.map_or_else(Principal::anonymous, Principal::user);
            let code = match r.resource_type {
                None => {
                    FAILURES.inc();
                    crate::net::log_limit::warn(|suppressed| {
                        tracing::warn!(%peer, principal = %who, method, suppressed, "gRPC ACL authentication failed: {}", r.remark);
                    });
                    pb::Code::Unauthorized
                }
                Some(kind) => {
                    count_denial("grpc", kind, &who, &r.resource, method);
                    pb::Code::Forbidden
                }
            };
            Err(refusal(code, r.remark))
        }
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

impl<S> Service<http::Request<Body>> for Acl<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> BoxFuture {
        // The clone that was polled ready serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let ctx = self.ctx.clone();
        Box::pin(async move {
            let Some(acl) = ctx.broker.security.plain_acl.as_ref() else {
                return inner.call(req).await;
            };
            let method = req.uri().path().rsplit('/').next().unwrap_or_default();
            let method = method.to_string();
            let (head, body) = req.into_parts();
            if !BY_RESOURCE.contains(&method.as_str()) {
                // Unknown methods and the Telemetry stream: identity only.
                if let Err(refused) = check(&ctx, acl, &head, &method, Vec::new()) {
                    return Ok(refused);
                }
                return inner.call(http::Request::from_parts(head, body)).await;
            }
            let limit = super::MAX_MESSAGE_SIZE + 5;
            let bytes: Bytes = match Limited::new(body, limit).collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    let msg = format!("request body not read: {e}");
                    return Ok(refusal(pb::Code::BadRequest, msg));
                }
            };
            let resources =
                match unframe(&bytes).and_then(|m| needed(&method, m).unwrap_or(Ok(Vec::new()))) {
                    Ok(r) => r,
                    Err(e) => return Ok(refusal(pb::Code::BadRequest, e)),
                };
            if let Err(refused) = check(&ctx, acl, &head, &method, resources) {
                return Ok(refused);
            }
            let req = http::Request::from_parts(head, Body::new(Full::new(bytes)));
            inner.call(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header_is_parsed() {
        let v = "MQv2-HMAC-SHA1 Credential=ak1, SignedHeaders=x-mq-date-time, Signature=0aFF";
        assert_eq!(parse_authorization(v), Some(("ak1", "0aFF")));
        let scoped =
            "MQv2-HMAC-SHA1 Credential=ak1/x/y, SignedHeaders=x-mq-date-time, Signature=00";
        assert_eq!(parse_authorization(scoped), Some(("ak1", "00")));
        assert_eq!(parse_authorization("Basic abc"), None);
        assert_eq!(parse_authorization("MQv2-HMAC-SHA1 Credential=a"), None);
    }

    #[test]
    fn rpcs_need_upstreams_resources() {
        let send = pb::SendMessageRequest {
            messages: vec![pb::Message {
                topic: Some(pb::Resource {
                    resource_namespace: String::new(),
                    name: "orders".into(),
                }),
                ..Default::default()
            }],
        };
        let got = needed("SendMessage", &send.encode_to_vec())
            .unwrap()
            .unwrap();
        assert_eq!(got, vec![("orders".to_string(), perm::PUB)]);
        let hb = pb::HeartbeatRequest {
            group: Some(pb::Resource {
                resource_namespace: String::new(),
                name: "g".into(),
            }),
            client_type: pb::ClientType::SimpleConsumer as i32,
        };
        let got = needed("Heartbeat", &hb.encode_to_vec()).unwrap().unwrap();
        assert_eq!(got, vec![("%RETRY%g".to_string(), perm::SUB)]);
        let pull = pb::PullMessageRequest {
            group: Some(pb::Resource {
                resource_namespace: String::new(),
                name: "g".into(),
            }),
            message_queue: Some(pb::MessageQueue {
                topic: Some(pb::Resource {
                    resource_namespace: String::new(),
                    name: "orders".into(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let got = needed("PullMessage", &pull.encode_to_vec())
            .unwrap()
            .unwrap();
        assert_eq!(
            got,
            vec![
                ("orders".to_string(), perm::SUB),
                ("%RETRY%g".to_string(), perm::SUB)
            ]
        );
        assert!(needed("Telemetry", &[]).is_none());
        for m in BY_RESOURCE {
            assert!(needed(m, &[]).is_some(), "{m}");
        }
        assert!(needed("SendMessage", b"\xff\xff").unwrap().is_err());
        assert_eq!(unframe(&[0, 0, 0, 0, 1, 9]), Ok(&[9u8][..]));
        assert!(unframe(&[0, 0, 0, 0, 2, 9]).is_err());
        assert!(unframe(&[1, 0, 0, 0, 0]).is_err());
    }
}
