//! Requests the broker relays to a live client and whose answer it returns
//! (upstream `AdminBrokerProcessor.callConsumer`): GET_CONSUMER_RUNNING_INFO
//! (307, the Dashboard's consumer client details, `mqadmin consumerStatus`)
//! and CONSUME_MESSAGE_DIRECTLY (309, the Dashboard's "resend to this
//! consumer", `mqadmin consumeMessage`; the broker attaches the stored
//! message), and the consumer status of INVOKE_BROKER_TO_GET_CONSUMER_STATUS
//! (223, `mqadmin getConsumerStatus`), asked of each live consumer with
//! GET_CONSUMER_STATUS_FROM_CLIENT (221). The request goes out on the client's own connection with a
//! broker-chosen `opaque`; `conn.rs` hands response frames to
//! [`Relay::complete`], which wakes the waiting handler. No answer within
//! [`RELAY_TIMEOUT`] is a SYSTEM_ERROR, as upstream's `invokeSync` timeout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rokka_protocols::remoting::message::decode_message_id;
use rokka_protocols::remoting::{RemotingCommand, ResponseCode};
use tokio::sync::oneshot;

use super::context::{Ctx, HResult, HandlerError, Reply};
use super::header::req_str;

/// How long a relayed request waits for the client (upstream: 10 s).
pub(crate) const RELAY_TIMEOUT: Duration = Duration::from_secs(10);

/// Broker-initiated requests waiting for their answer, by opaque.
#[derive(Debug, Default)]
pub(crate) struct Relay {
    waiting: Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>,
    next: AtomicI32,
}

impl Relay {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, oneshot::Sender<RemotingCommand>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A response frame from a client: wakes its waiter (strays are dropped).
    pub(crate) fn complete(&self, resp: RemotingCommand) {
        if let Some(tx) = self.lock().remove(&resp.opaque) {
            let _ = tx.send(resp);
        }
    }

    /// Sends `cmd` on a client's connection and waits for the answer.
    async fn ask(
        &self,
        conn: &tokio::sync::mpsc::Sender<Reply>,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, String> {
        // Negative opaques: never equal to a client's own (they count up from 0).
        let opaque = -1 - (self.next.fetch_add(1, Ordering::Relaxed) & i32::MAX);
        cmd.opaque = opaque;
        let (tx, rx) = oneshot::channel();
        self.lock().insert(opaque, tx);
        let sent = conn.try_send(Reply::new(cmd)).is_ok();
        let result = if sent {
            match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(resp)) => Ok(resp),
                Ok(Err(_)) => Err("the connection closed".to_owned()),
                Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
            }
        } else {
            Err("its connection is closed or full".to_owned())
        };
        self.lock().remove(&opaque);
        result
    }
}

/// Relays `req` (its code, ext fields and `body`) to the consumer `clientId`
/// of `consumerGroup` and answers with the client's response.
async fn call_consumer(ctx: &Ctx, req: &RemotingCommand, body: bytes::Bytes) -> HResult {
    let group = req_str(req, "consumerGroup")?;
    let client = req_str(req, "clientId")?;
    let Some(tx) = ctx
        .clients
        .consumer_channels(group)
        .into_iter()
        .find(|(id, _)| id == client)
        .map(|(_, tx)| tx)
    else {
        return Err(HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("The Consumer <{group}> <{client}> not online"),
        ));
    };
    let mut out = RemotingCommand::request(req.code, req.ext_fields.clone().unwrap_or_default());
    out.body = body;
    let resp = ctx.relay.ask(&tx, out, RELAY_TIMEOUT).await.map_err(|e| {
        HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("invoke consumer <{group}> <{client}> Exception: {e}"),
        )
    })?;
    // The client's answer, re-addressed to the requester.
    let mut cmd = req.response_to(resp.code);
    cmd.remark = resp.remark;
    cmd.ext_fields = resp.ext_fields;
    cmd.body = resp.body;
    Ok(Reply::new(cmd))
}

/// GET_CONSUMER_RUNNING_INFO (307): `consumerGroup`, `clientId`, `jstackEnable`.
pub(crate) async fn consumer_running_info(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    call_consumer(ctx, req, req.body.clone()).await
}

/// CONSUME_MESSAGE_DIRECTLY (309): `consumerGroup`, `clientId`, `msgId`;
/// the stored message named by the offset message id goes along as the body.
pub(crate) async fn consume_message_directly(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let id = req_str(req, "msgId")?;
    let (_, offset) = decode_message_id(id).map_err(|_| {
        HandlerError::new(ResponseCode::SYSTEM_ERROR, format!("invalid msgId {id}"))
    })?;
    let stored = super::query::message_at(&ctx.broker.store, offset).ok_or_else(|| {
        HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("can not find message by the offset, {offset}"),
        )
    })?;
    let mut relayed = req.clone();
    relayed
        .ext_mut()
        .insert("brokerName", ctx.broker.config.broker_name.as_str());
    call_consumer(ctx, &relayed, stored).await
}

/// How long each consumer has to answer GET_CONSUMER_STATUS_FROM_CLIENT (upstream: 5 s).
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223): `topic`, `group`, optional
/// `clientAddr` (a client id). Each live consumer (or only that one) is
/// asked with GET_CONSUMER_STATUS_FROM_CLIENT (221); the answer is
/// `{"consumerTable":{clientId:{MessageQueue:offset,..}},"messageQueueTable":{}}`
/// in fastjson's object-key form. A consumer that does not answer is left out.
pub(crate) async fn consumer_status(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let topic = req_str(req, "topic")?;
    let group = req_str(req, "group")?;
    let only = req.ext("clientAddr").filter(|c| !c.trim().is_empty());
    let consumers = ctx.clients.consumer_channels(group);
    if consumers.is_empty() {
        return Err(HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("No Any Consumer online in the consumer group: [{group}]"),
        ));
    }
    let mut table = String::new();
    for (client, tx) in consumers {
        if only.is_some_and(|o| o != client) {
            continue;
        }
        let mut ext = rokka_protocols::remoting::ExtFields::default();
        ext.insert("topic", topic);
        ext.insert("group", group);
        let ask = RemotingCommand::request(
            rokka_protocols::remoting::RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT.0,
            ext,
        );
        let queues = match ctx.relay.ask(&tx, ask, STATUS_TIMEOUT).await {
            Ok(resp) if resp.code == 0 && !resp.body.is_empty() => status_queues(&resp.body)
                .unwrap_or_else(|e| {
                    tracing::debug!(group, client, "unreadable consumer status: {e}");
                    None
                }),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(group, client, "consumer status not answered: {e}");
                None
            }
        };
        if let Some(q) = queues {
            if !table.is_empty() {
                table.push(',');
            }
            table.push_str(&serde_json::to_string(&client).unwrap_or_default());
            table.push(':');
            table.push_str(&q);
        }
    }
    let body = format!("{{\"consumerTable\":{{{table}}},\"messageQueueTable\":{{}}}}");
    Ok(super::stats::raw_body(req, body))
}

/// The `messageQueueTable` of a client's GetConsumerStatusBody, re-written
/// in fastjson's object-key form.
fn status_queues(body: &[u8]) -> Result<Option<String>, String> {
    let v = rokka_protocols::remoting::fastjson::parse_fastjson(body).map_err(|e| e.to_string())?;
    let mut out = String::from("{");
    match &v["messageQueueTable"] {
        serde_json::Value::Array(pairs) => {
            for (i, p) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&format!("{}:{}", p[0], p[1]));
            }
        }
        serde_json::Value::Object(m) if m.is_empty() => {}
        _ => return Ok(None),
    }
    out.push('}');
    Ok(Some(out))
}
