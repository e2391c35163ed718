//! gRPC helpers (the generated tonic client of `rokka::grpc::pb`) shared by
//! `tests/grpc.rs`, `tests/grpc_security.rs` and `tests/cluster_grpc.rs`.

use std::net::SocketAddr;

use rokka::grpc::pb::messaging_service_client::MessagingServiceClient;
use rokka::grpc::pb::receive_message_response::Content;
use rokka::grpc::pb::*;
use tonic::transport::Channel;

/// A resource named `name` (no namespace).
pub fn res(name: &str) -> Option<Resource> {
    Some(Resource {
        resource_namespace: String::new(),
        name: name.into(),
    })
}

/// `ms` milliseconds as a protobuf duration.
pub fn dur(ms: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    })
}

/// A plain-text client of the gRPC port at `addr`.
pub async fn client(addr: SocketAddr) -> MessagingServiceClient<Channel> {
    MessagingServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect to the gRPC port")
}

/// A ReceiveMessage of `topic` for `group`: every tag, up to 32 messages.
pub fn receive_request(
    group: &str,
    topic: &str,
    invisible_ms: i64,
    poll_ms: i64,
) -> ReceiveMessageRequest {
    ReceiveMessageRequest {
        group: res(group),
        message_queue: Some(MessageQueue {
            topic: res(topic),
            id: -1,
            ..Default::default()
        }),
        filter_expression: Some(FilterExpression {
            r#type: FilterType::Tag as i32,
            expression: "*".into(),
        }),
        batch_size: 32,
        invisible_duration: dur(invisible_ms),
        auto_renew: false,
        long_polling_timeout: dur(poll_ms),
        attempt_id: None,
    }
}

/// One [`receive_request`]: the stream's status (default when none came)
/// and messages.
pub async fn receive(
    c: &mut MessagingServiceClient<Channel>,
    group: &str,
    topic: &str,
    invisible_ms: i64,
    poll_ms: i64,
) -> (Status, Vec<Message>) {
    let req = receive_request(group, topic, invisible_ms, poll_ms);
    let mut stream = c.receive_message(req).await.unwrap().into_inner();
    let (mut status, mut msgs) = (Status::default(), Vec::new());
    while let Some(r) = stream.message().await.unwrap() {
        match r.content {
            Some(Content::Status(s)) => status = s,
            Some(Content::Message(m)) => msgs.push(m),
            _ => {}
        }
    }
    (status, msgs)
}
