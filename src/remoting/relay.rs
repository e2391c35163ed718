//! Requests the broker relays to a live client and whose answer it returns
//! (upstream `AdminBrokerProcessor.callConsumer`): GET_CONSUMER_RUNNING_INFO
//! (307, the Dashboard's consumer client details, `mqadmin consumerStatus`)
//! and CONSUME_MESSAGE_DIRECTLY (309, the Dashboard's "resend to this
//! consumer", `mqadmin consumeMessage`; the broker attaches the stored
//! message). The request goes out on the client's own connection with a
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
    ) -> Result<RemotingCommand, String> {
        // Negative opaques: never equal to a client's own (they count up from 0).
        let opaque = -1 - (self.next.fetch_add(1, Ordering::Relaxed) & i32::MAX);
        cmd.opaque = opaque;
        let (tx, rx) = oneshot::channel();
        self.lock().insert(opaque, tx);
        let sent = conn.try_send(Reply::new(cmd)).is_ok();
        let result = if sent {
            match tokio::time::timeout(RELAY_TIMEOUT, rx).await {
                Ok(Ok(resp)) => Ok(resp),
                Ok(Err(_)) => Err("the connection closed".to_owned()),
                Err(_) => Err(format!("no answer within {} s", RELAY_TIMEOUT.as_secs())),
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
    let resp = ctx.relay.ask(&tx, out).await.map_err(|e| {
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
