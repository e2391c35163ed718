//! The gRPC front-end of the RocketMQ 5.x SDKs against the real `rokka`
//! executable, through the generated tonic client: route, send, receive,
//! ack, redelivery after the invisible time, change of invisible duration,
//! transactions, the offset RPCs (shared with remoting's offset table),
//! where a new group starts;
//! and bad input on the gRPC port (malformed protobuf, an
//! unknown method, an oversized message, a client that never reads)
//! answered with gRPC errors while the broker keeps serving.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use rokka::grpc::pb::messaging_service_client::MessagingServiceClient;
use rokka::grpc::pb::receive_message_response::Content;
use rokka::grpc::pb::*;
use support::grpc::{client, dur, res};
use support::remoting::{self, Conn};
use support::Rokka;
use tonic::transport::Channel;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn message(topic: &str, id: &str, body: &str, group: Option<&str>, kind: MessageType) -> Message {
    Message {
        topic: res(topic),
        user_properties: [("k".to_owned(), id.to_owned())].into(),
        system_properties: Some(SystemProperties {
            tag: Some("TagA".into()),
            keys: vec!["key1".into(), "key2".into()],
            message_id: id.into(),
            message_type: kind as i32,
            message_group: group.map(str::to_owned),
            ..Default::default()
        }),
        body: body.as_bytes().to_vec(),
    }
}

/// Sends `n` normal messages with ids `{id}{i}` and bodies `{body}{i}`.
async fn send_normal(
    c: &mut MessagingServiceClient<Channel>,
    topic: &str,
    id: &str,
    body: &str,
    n: usize,
) -> SendMessageResponse {
    let messages = (0..n)
        .map(|i| {
            let (id, body) = (format!("{id}{i}"), format!("{body}{i}"));
            message(topic, &id, &body, None, MessageType::Normal)
        })
        .collect();
    let sent = c
        .send_message(SendMessageRequest { messages })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&sent.status), Code::Ok, "{sent:?}");
    sent
}

fn code(s: &Option<Status>) -> Code {
    Code::try_from(s.as_ref().map_or(0, |s| s.code)).unwrap()
}

async fn receive(
    c: &mut MessagingServiceClient<Channel>,
    topic: &str,
    invisible_ms: i64,
    poll_ms: i64,
) -> (Code, Vec<Message>) {
    receive_as(c, "g", topic, invisible_ms, poll_ms).await
}

async fn receive_as(
    c: &mut MessagingServiceClient<Channel>,
    group: &str,
    topic: &str,
    invisible_ms: i64,
    poll_ms: i64,
) -> (Code, Vec<Message>) {
    let (status, msgs) = support::grpc::receive(c, group, topic, invisible_ms, poll_ms).await;
    (Code::try_from(status.code).unwrap(), msgs)
}

fn sys(m: &Message) -> &SystemProperties {
    m.system_properties.as_ref().unwrap()
}

async fn ack(c: &mut MessagingServiceClient<Channel>, topic: &str, handle: &str) -> Code {
    let r = c
        .ack_message(AckMessageRequest {
            group: res("g"),
            topic: res(topic),
            entries: vec![AckMessageEntry {
                message_id: String::new(),
                receipt_handle: handle.into(),
            }],
        })
        .await
        .unwrap()
        .into_inner();
    code(&r.status)
}

#[test]
fn send_receive_ack_and_redelivery() {
    let rokka = Rokka::start();
    rt().block_on(async {
        let mut c = client(rokka.grpc).await;
        let route = c
            .query_route(QueryRouteRequest {
                topic: res("G"),
                endpoints: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&route.status), Code::Ok);
        assert!(!route.message_queues.is_empty());
        let ep = route.message_queues[0]
            .broker
            .as_ref()
            .unwrap()
            .endpoints
            .as_ref()
            .unwrap();
        assert_eq!(ep.addresses[0].port, i32::from(rokka.grpc.port()));

        let sent = send_normal(&mut c, "G", "ID", "body-", 3).await;
        assert_eq!(sent.entries.len(), 3);
        assert_eq!(sent.entries[0].message_id, "ID0");

        let (st, got) = receive(&mut c, "G", 1000, 3000).await;
        assert_eq!(st, Code::Ok);
        assert_eq!(got.len(), 3);
        let mut bodies: Vec<String> = got
            .iter()
            .map(|m| String::from_utf8(m.body.clone()).unwrap())
            .collect();
        bodies.sort();
        assert_eq!(bodies, ["body-0", "body-1", "body-2"]);
        let m0 = &got[0];
        assert_eq!(sys(m0).tag.as_deref(), Some("TagA"));
        assert_eq!(sys(m0).keys, ["key1", "key2"]);
        assert_eq!(sys(m0).delivery_attempt, Some(1));
        assert_eq!(
            m0.user_properties.get("k").map(String::as_str),
            Some(sys(m0).message_id.as_str())
        );
        assert!(!m0.user_properties.contains_key("UNIQ_KEY"));

        // Ack two; the third comes back after its invisible time (1 s).
        for m in &got[..2] {
            assert_eq!(
                ack(&mut c, "G", sys(m).receipt_handle.as_ref().unwrap()).await,
                Code::Ok
            );
        }
        assert_eq!(
            ack(&mut c, "G", "garbage").await,
            Code::InvalidReceiptHandle
        );
        let (st, none) = receive(&mut c, "G", 1000, 0).await;
        assert_eq!((st, none.len()), (Code::MessageNotFound, 0));
        let (st, again) = receive(&mut c, "G", 30_000, 5000).await;
        assert_eq!(st, Code::Ok);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].body, got[2].body);
        assert_eq!(sys(&again[0]).message_id, sys(&got[2]).message_id);
        assert_eq!(sys(&again[0]).delivery_attempt, Some(2));

        // A longer invisible time keeps it hidden; the new handle acks it.
        let changed = c
            .change_invisible_duration(ChangeInvisibleDurationRequest {
                group: res("g"),
                topic: res("G"),
                receipt_handle: sys(&again[0]).receipt_handle.clone().unwrap(),
                invisible_duration: dur(60_000),
                message_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&changed.status), Code::Ok);
        for bad in [0, 13 * 3600 * 1000] {
            let r = c
                .change_invisible_duration(ChangeInvisibleDurationRequest {
                    group: res("g"),
                    topic: res("G"),
                    receipt_handle: changed.receipt_handle.clone(),
                    invisible_duration: dur(bad),
                    message_id: String::new(),
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(code(&r.status), Code::IllegalInvisibleTime, "{bad} ms");
        }
        assert_eq!(ack(&mut c, "G", &changed.receipt_handle).await, Code::Ok);
        let (st, _) = receive(&mut c, "G", 1000, 1500).await;
        assert_eq!(st, Code::MessageNotFound);

        // Transactions: a half message is invisible until committed.
        let half = c
            .send_message(SendMessageRequest {
                messages: vec![message("T", "TX1", "tx", None, MessageType::Transaction)],
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&half.status), Code::Ok);
        let (st, _) = receive(&mut c, "T", 1000, 300).await;
        assert_eq!(st, Code::MessageNotFound);
        let end = |resolution: TransactionResolution, id: &str| EndTransactionRequest {
            topic: res("T"),
            message_id: "TX1".into(),
            transaction_id: id.into(),
            resolution: resolution as i32,
            source: TransactionSource::SourceClient as i32,
            trace_context: String::new(),
        };
        let bad = c
            .end_transaction(end(TransactionResolution::Commit, "nonsense"))
            .await
            .unwrap();
        assert_eq!(code(&bad.into_inner().status), Code::InvalidTransactionId);
        let tx = half.entries[0].transaction_id.clone();
        let ok = c
            .end_transaction(end(TransactionResolution::Commit, &tx))
            .await
            .unwrap();
        assert_eq!(code(&ok.into_inner().status), Code::Ok);
        let (st, got) = receive(&mut c, "T", 30_000, 3000).await;
        assert_eq!((st, got.len()), (Code::Ok, 1));
        assert_eq!(sys(&got[0]).message_type, MessageType::Transaction as i32);
    });
}

#[test]
fn dead_letter_queue_and_delay() {
    let rokka = Rokka::start();
    rt().block_on(async {
        let mut c = client(rokka.grpc).await;
        let sent = c
            .send_message(SendMessageRequest {
                messages: vec![message("D", "DEAD", "dead", None, MessageType::Normal)],
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&sent.status), Code::Ok);
        let (_, got) = receive(&mut c, "D", 1000, 3000).await;
        assert_eq!(got.len(), 1);
        let fwd = c
            .forward_message_to_dead_letter_queue(ForwardMessageToDeadLetterQueueRequest {
                group: res("g"),
                topic: res("D"),
                receipt_handle: sys(&got[0]).receipt_handle.clone().unwrap(),
                message_id: "DEAD".into(),
                delivery_attempt: 1,
                max_delivery_attempts: 1,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&fwd.status), Code::Ok);
        // Acked by the forward: not redelivered after its invisible time.
        let (st, _) = receive(&mut c, "D", 1000, 2000).await;
        assert_eq!(st, Code::MessageNotFound);
        let (st, dead) = receive_as(&mut c, "dlq-reader", "%DLQ%g", 30_000, 3000).await;
        assert_eq!((st, dead.len()), (Code::Ok, 1));
        assert_eq!(sys(&dead[0]).message_id, "DEAD");
        assert_eq!(dead[0].topic.as_ref().unwrap().name, "D");

        // A delivery time 1.5 s ahead: not visible before it.
        let mut m = message("L", "LATER", "later", None, MessageType::Delay);
        let due = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            + 1500;
        m.system_properties.as_mut().unwrap().delivery_timestamp = Some(prost_types::Timestamp {
            seconds: due / 1000,
            nanos: ((due % 1000) * 1_000_000) as i32,
        });
        let r = c
            .send_message(SendMessageRequest { messages: vec![m] })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&r.status), Code::Ok);
        let start = std::time::Instant::now();
        let (st, got) = receive(&mut c, "L", 30_000, 1000).await;
        assert_eq!(
            (st, got.len()),
            (Code::MessageNotFound, 0),
            "{:?}",
            start.elapsed()
        );
        let (st, got) = receive(&mut c, "L", 30_000, 10_000).await;
        assert_eq!((st, got.len()), (Code::Ok, 1));
        assert_eq!(sys(&got[0]).message_type, MessageType::Delay as i32);
        assert!(sys(&got[0]).delivery_timestamp.is_some());
    });
}

/// One raw gRPC call over HTTP/2: the grpc-status it ends with.
async fn raw(addr: SocketAddr, path: &str, frame: Vec<u8>) -> String {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(conn);
    let mut client = client.ready().await.unwrap();
    let req = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (resp, mut send) = client.send_request(req, false).unwrap();
    send.send_data(Bytes::from(frame), true).unwrap();
    let resp = resp.await.unwrap();
    if let Some(s) = resp.headers().get("grpc-status") {
        return s.to_str().unwrap().to_owned();
    }
    let mut body = resp.into_body();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let trailers = body.trailers().await.unwrap().unwrap_or_default();
    trailers
        .get("grpc-status")
        .map_or_else(String::new, |s| s.to_str().unwrap().to_owned())
}

fn frame(len: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0];
    f.extend_from_slice(&len.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

const SVC: &str = "/apache.rocketmq.v2.MessagingService";

#[test]
fn bad_input_gets_grpc_errors_and_the_broker_keeps_serving() {
    let rokka = Rokka::start();
    rt().block_on(async {
        let a = rokka.grpc;
        // A valid empty QueryRoute request: answered (API status in the body).
        assert_eq!(
            raw(a, &format!("{SVC}/QueryRoute"), frame(0, &[])).await,
            "0"
        );
        // Malformed protobuf (a truncated field): INTERNAL, as tonic's decoder says.
        let garbage = [0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01];
        assert_eq!(
            raw(a, &format!("{SVC}/SendMessage"), frame(6, &garbage)).await,
            "13"
        );
        // An unknown method; an empty QueryOffset is answered (API status).
        assert_eq!(
            raw(a, &format!("{SVC}/NoSuchMethod"), frame(0, &[])).await,
            "12"
        );
        assert_eq!(
            raw(a, &format!("{SVC}/QueryOffset"), frame(0, &[])).await,
            "0"
        );
        assert_eq!(raw(a, "/other.Service/Call", frame(0, &[])).await, "12");
        // A message announced larger than the limit: refused before it is read.
        let big = raw(a, &format!("{SVC}/SendMessage"), frame(64 << 20, &[0; 16])).await;
        assert!(
            big == "8" || big == "11",
            "oversized message answered {big:?}"
        );
        // A frame cut short of its announced length.
        let short = raw(a, &format!("{SVC}/SendMessage"), frame(100, &[0x0a])).await;
        assert!(
            !short.is_empty() && short != "0",
            "truncated frame answered {short:?}"
        );

        // A client that never reads: a Telemetry stream flooding settings,
        // plus a TCP connection that sends junk and never reads.
        let mut flood = client(a).await;
        let cmds = (0..100_000).map(|_| TelemetryCommand {
            status: None,
            command: Some(telemetry_command::Command::Settings(Settings {
                client_type: Some(ClientType::Producer as i32),
                pub_sub: Some(settings::PubSub::Publishing(Publishing {
                    topics: vec![Resource {
                        resource_namespace: String::new(),
                        name: "x".repeat(200),
                    }],
                    max_body_size: 0,
                    validate_message_type: false,
                })),
                ..Default::default()
            })),
        });
        let _never_read = tokio::time::timeout(
            Duration::from_secs(5),
            flood.telemetry(tokio_stream::iter(cmds)),
        )
        .await;
        let mut junk = tokio::net::TcpStream::connect(a).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut junk, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();

        let mut c = client(a).await;
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            c.query_route(QueryRouteRequest {
                topic: res("Still"),
                endpoints: None,
            }),
        )
        .await
        .expect("the broker still answers")
        .unwrap()
        .into_inner();
        assert_eq!(code(&r.status), Code::Ok);
        let sent = c
            .send_message(SendMessageRequest {
                messages: vec![message("Still", "S1", "x", None, MessageType::Normal)],
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&sent.status), Code::Ok);
        // An empty body and an illegal topic are API errors, not panics.
        let mut empty = message("Still", "S2", "", None, MessageType::Normal);
        empty.body.clear();
        let r = c
            .send_message(SendMessageRequest {
                messages: vec![empty],
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&r.status), Code::MessageBodyEmpty);
        let r = c
            .send_message(SendMessageRequest {
                messages: vec![message("bad topic!", "S3", "x", None, MessageType::Normal)],
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&r.status), Code::IllegalTopic);
        // SQL92 while enablePropertyFilter is off: refused in the stream.
        let mut stream = c
            .receive_message(ReceiveMessageRequest {
                group: res("g"),
                message_queue: Some(MessageQueue {
                    topic: res("Still"),
                    id: 0,
                    ..Default::default()
                }),
                filter_expression: Some(FilterExpression {
                    r#type: FilterType::Sql as i32,
                    expression: "a > 1".into(),
                }),
                batch_size: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let first = stream.message().await.unwrap().unwrap();
        let Some(Content::Status(st)) = first.content else {
            panic!("{first:?}")
        };
        assert_eq!(st.code, Code::IllegalFilterExpression as i32);
    });
    let metrics = rokka.metrics();
    assert!(
        metrics.contains(
            r#"rokka_grpc_requests_total{code="MESSAGE_BODY_EMPTY",method="SendMessage"} 1"#
        ),
        "{metrics}"
    );
}

fn mq(topic: &str, id: i32) -> Option<MessageQueue> {
    Some(MessageQueue {
        topic: res(topic),
        id,
        ..Default::default()
    })
}

async fn query_offset(
    c: &mut MessagingServiceClient<Channel>,
    topic: &str,
    q: i32,
    policy: QueryOffsetPolicy,
    at_ms: Option<i64>,
) -> (Code, i64) {
    let r = c
        .query_offset(QueryOffsetRequest {
            message_queue: mq(topic, q),
            query_offset_policy: policy as i32,
            timestamp: at_ms.map(|ms| prost_types::Timestamp {
                seconds: ms / 1000,
                nanos: 0,
            }),
        })
        .await
        .unwrap()
        .into_inner();
    (code(&r.status), r.offset)
}

async fn get_offset(c: &mut MessagingServiceClient<Channel>, group: &str, q: i32) -> (Code, i64) {
    let r = c
        .get_offset(GetOffsetRequest {
            group: res(group),
            message_queue: mq("O", q),
        })
        .await
        .unwrap()
        .into_inner();
    (code(&r.status), r.offset)
}

async fn update_offset(c: &mut MessagingServiceClient<Channel>, q: i32, offset: i64) -> Code {
    let r = c
        .update_offset(UpdateOffsetRequest {
            group: res("pg"),
            message_queue: mq("O", q),
            offset,
        })
        .await
        .unwrap()
        .into_inner();
    code(&r.status)
}

/// PullMessage: (status, messages, next offset).
async fn pull(
    c: &mut MessagingServiceClient<Channel>,
    q: i32,
    offset: i64,
    tag: &str,
    poll_ms: i64,
) -> (Code, Vec<Message>, Option<i64>) {
    use rokka::grpc::pb::pull_message_response::Content as P;
    let mut stream = c
        .pull_message(PullMessageRequest {
            group: res("pg"),
            message_queue: mq("O", q),
            offset,
            batch_size: 32,
            filter_expression: Some(FilterExpression {
                r#type: FilterType::Tag as i32,
                expression: tag.into(),
            }),
            long_polling_timeout: dur(poll_ms),
        })
        .await
        .unwrap()
        .into_inner();
    let (mut st, mut msgs, mut next) = (Code::Unspecified, Vec::new(), None);
    while let Some(r) = stream.message().await.unwrap() {
        match r.content {
            Some(P::Status(s)) => st = Code::try_from(s.code).unwrap(),
            Some(P::Message(m)) => msgs.push(m),
            Some(P::NextOffset(n)) => next = Some(n),
            None => {}
        }
    }
    (st, msgs, next)
}

#[test]
fn offset_rpcs_share_the_offset_table_with_remoting() {
    let rokka = Rokka::start();
    let (q, n) = rt().block_on(async {
        let mut c = client(rokka.grpc).await;
        let route = c
            .query_route(QueryRouteRequest {
                topic: res("O"),
                endpoints: None,
            })
            .await
            .unwrap()
            .into_inner();
        let queues: Vec<i32> = route.message_queues.iter().map(|m| m.id).collect();
        assert!(!queues.is_empty());
        send_normal(&mut c, "O", "OID", "o-", 6).await;

        // QueryOffset: every queue begins at 0; the ends add up to the 6 sent.
        let mut ends = Vec::new();
        for &q in &queues {
            let begin = query_offset(&mut c, "O", q, QueryOffsetPolicy::Beginning, None).await;
            assert_eq!(begin, (Code::Ok, 0));
            let (st, end) = query_offset(&mut c, "O", q, QueryOffsetPolicy::End, None).await;
            assert_eq!(st, Code::Ok);
            let future = now_ms() + 3_600_000;
            let by_time = query_offset(&mut c, "O", q, QueryOffsetPolicy::Timestamp, Some(future));
            assert_eq!(by_time.await, (Code::Ok, end), "a future time is the end");
            let by_time = query_offset(&mut c, "O", q, QueryOffsetPolicy::Timestamp, Some(0));
            assert_eq!(by_time.await, (Code::Ok, 0), "time 0 is the beginning");
            ends.push((q, end));
        }
        assert_eq!(ends.iter().map(|e| e.1).sum::<i64>(), 6, "{ends:?}");
        let (q, n) = *ends.iter().max_by_key(|e| e.1).unwrap();
        assert!(n >= 1);
        let missing = query_offset(&mut c, "O", 999, QueryOffsetPolicy::End, None).await;
        assert_eq!(missing.0, Code::BadRequest);
        let missing = query_offset(&mut c, "NoSuch", 0, QueryOffsetPolicy::End, None).await;
        assert_eq!(missing.0, Code::TopicNotFound);
        let no_time = query_offset(&mut c, "O", q, QueryOffsetPolicy::Timestamp, None).await;
        assert_eq!(no_time.0, Code::BadRequest);

        // PullMessage: the queue's messages in order, no receipt handles.
        let (st, got, next) = pull(&mut c, q, 0, "*", 0).await;
        assert_eq!((st, next), (Code::Ok, Some(n)));
        assert_eq!(got.len() as i64, n);
        for (i, m) in got.iter().enumerate() {
            let sp = sys(m);
            assert_eq!(sp.queue_offset, Some(i as i64));
            assert_eq!(sp.queue_id, q);
            assert!(sp.receipt_handle.is_none());
            let body = String::from_utf8(m.body.clone()).unwrap();
            assert_eq!(sp.message_id, format!("OID{}", &body[2..]));
            assert_eq!(sp.tag.as_deref(), Some("TagA"));
        }
        let (st, got, next) = pull(&mut c, q, n - 1, "*", 0).await;
        assert_eq!((st, got.len(), next), (Code::Ok, 1, Some(n)));
        // A tag that matches nothing: not found, and the next offset moves on.
        let (st, got, next) = pull(&mut c, q, 0, "TagB", 0).await;
        assert_eq!((st, got.len(), next), (Code::MessageNotFound, 0, Some(n)));
        // At the end: waits out the long poll, then not found at the same offset.
        let t0 = std::time::Instant::now();
        let (st, got, next) = pull(&mut c, q, n, "*", 400).await;
        assert_eq!((st, got.len(), next), (Code::MessageNotFound, 0, Some(n)));
        assert!(
            t0.elapsed() >= Duration::from_millis(350),
            "{:?}",
            t0.elapsed()
        );
        // Outside the queue: ILLEGAL_OFFSET with the nearest valid offset.
        let (st, _, next) = pull(&mut c, q, n + 5, "*", 0).await;
        assert_eq!((st, next), (Code::IllegalOffset, Some(n)));
        let (st, _, next) = pull(&mut c, q, -1, "*", 0).await;
        assert_eq!((st, next), (Code::IllegalOffset, Some(0)));

        // GetOffset / UpdateOffset on the offset table remoting uses.
        assert_eq!(get_offset(&mut c, "pg", q).await, (Code::Ok, 0));
        assert_eq!(update_offset(&mut c, q, n).await, Code::Ok);
        assert_eq!(get_offset(&mut c, "pg", q).await, (Code::Ok, n));
        assert_eq!(update_offset(&mut c, q, -1).await, Code::IllegalOffset);
        assert_eq!(get_offset(&mut c, "pg", q).await, (Code::Ok, n));
        (q, n)
    });
    let mut conn = Conn::open(rokka.broker);
    // remoting sees the gRPC commit, and a remoting commit is seen by gRPC.
    let r = conn.call(remoting::query_offset("pg", "O", q as u32));
    let n = n.to_string();
    assert_eq!((r.code, r.ext("offset")), (0, Some(n.as_str())));
    let r = conn.call(remoting::update_offset("pg", "O", q as u32, 1));
    assert_eq!(r.code, 0);
    rt().block_on(async {
        let mut c = client(rokka.grpc).await;
        assert_eq!(get_offset(&mut c, "pg", q).await, (Code::Ok, 1));
    });
    let metrics = rokka.metrics();
    assert!(
        metrics.contains(r#"rokka_grpc_requests_total{code="OK",method="UpdateOffset"} 1"#),
        "{metrics}"
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// As upstream's proxy (ConsumeInitMode.MAX): a group with no offset on a
/// queue that was truncated starts at its last message, not its minimum.
#[test]
fn a_new_group_starts_at_the_last_message_of_a_truncated_queue() {
    use rokka_protocols::kafka::delete_records::{
        decode_response, DeleteRecordsRequest, DeleteRecordsTopic,
    };
    use rokka_protocols::kafka::records::{build_v2_batch, Record};
    use rokka_protocols::kafka::Reader;
    use support::kafka;
    let rokka = Rokka::start();
    let mut k = kafka::Conn::open(rokka.kafka);
    assert_eq!(kafka::metadata(&mut k, "Trunc").topics[0].error, 0);
    for i in 0..5 {
        let rec = Record {
            timestamp: now_ms(),
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(format!("v{i}"))),
            headers: vec![],
        };
        let batch = build_v2_batch(0, &[rec]);
        assert_eq!(kafka::produce(&mut k, "Trunc", 0, batch, 1), (0, i));
    }
    // Kafka DeleteRecords truncates queue 0 below offset 2.
    let req = DeleteRecordsRequest {
        topics: vec![DeleteRecordsTopic {
            name: "Trunc".into(),
            partitions: vec![(0, 2)],
        }],
        timeout_ms: 1000,
    };
    let b = k.call(21, 1, |w| req.encode(w, 1));
    let mut r = Reader::new(&b, 0, false);
    let deleted = decode_response(&mut r, 1).unwrap().remove(0).partitions;
    assert_eq!(deleted, vec![(0, 2, 0)]);
    rt().block_on(async {
        let mut c = client(rokka.grpc).await;
        let (st, got) = receive_as(&mut c, "fresh", "Trunc", 30_000, 1000).await;
        assert_eq!(st, Code::Ok);
        let got: Vec<_> = got
            .iter()
            .map(|m| (sys(m).queue_id, sys(m).queue_offset, m.body.clone()))
            .collect();
        assert_eq!(got, vec![(0, Some(4), b"v4".to_vec())]);
    });
}

/// A long poll ends 100 ms before the caller's deadline (`grpc-timeout`),
/// as upstream's proxy: the Rust SDK sets its deadline to the long-polling
/// timeout itself, and would otherwise always time out on an empty queue.
#[test]
fn long_polls_answer_before_the_callers_deadline() {
    let rokka = Rokka::start();
    rt().block_on(async {
        let mut c = client(rokka.grpc).await;
        send_normal(&mut c, "Poll", "P", "p-", 1).await;
        let (st, _) = receive_as(&mut c, "pollers", "Poll", 30_000, 1000).await;
        assert_eq!(st, Code::Ok);
        let req = |deadline_ms: u64| {
            let mut r = tonic::Request::new(ReceiveMessageRequest {
                group: res("pollers"),
                message_queue: mq("Poll", -1),
                batch_size: 32,
                long_polling_timeout: dur(3000),
                ..Default::default()
            });
            r.set_timeout(Duration::from_millis(deadline_ms));
            r
        };
        let first_status = |c: &mut MessagingServiceClient<Channel>, deadline_ms| {
            let mut c = c.clone();
            async move {
                let mut s = c
                    .receive_message(req(deadline_ms))
                    .await
                    .unwrap()
                    .into_inner();
                match s.message().await.unwrap().and_then(|r| r.content) {
                    Some(Content::Status(s)) => Code::try_from(s.code).unwrap(),
                    other => panic!("{other:?}"),
                }
            }
        };
        let t0 = std::time::Instant::now();
        assert_eq!(first_status(&mut c, 1000).await, Code::MessageNotFound);
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(700) && took < Duration::from_millis(1000),
            "{took:?}"
        );
        assert_eq!(first_status(&mut c, 60).await, Code::IllegalPollingTime);
    });
}
