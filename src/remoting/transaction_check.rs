//! Transaction back-check, as RocketMQ's TransactionalMessageCheckService:
//! every `transactionCheckInterval`, each half message older than
//! `transactionTimeOut` that no END_TRANSACTION resolved is sent to a live
//! producer of its group (property `PGROUP`) as CHECK_TRANSACTION_STATE (39,
//! oneway). The producer answers with END_TRANSACTION
//! (`fromTransactionCheck=true`). After `transactionCheckMax` checks the half
//! message is discarded (rolled back, recorded in the op topic, logged and
//! counted). Checks are counted whether or not a producer was online, so a
//! vanished producer group does not keep its half messages forever.
//!
//! The check request carries the header fields of RocketMQ's
//! CheckTransactionStateRequestHeader (`tranStateTableOffset`,
//! `commitLogOffset`, `msgId`, `transactionId`, `offsetMsgId`, plus 5.x's
//! `topic` and `bname`) and the half message as a stored message whose
//! topic and queue id are the real ones, as Java brokers send it.

use std::sync::Arc;

use bytes::Bytes;
use rokka_protocols::remoting::codes::FLAG_ONEWAY;
use rokka_protocols::remoting::message::{create_message_id, decode_message, MessageExt};
use rokka_protocols::remoting::{ExtFields, RemotingCommand, RequestCode};
use rokka_store::entry::rocketmq::{self, Placement};
use rokka_store::MessageToStore;
use tracing::{debug, info, warn};

use super::context::{now_ms, Ctx, Reply};
use super::transaction::{record_op, HALF_TOPIC};

/// Most half messages looked at in one pass.
const PASS_LIMIT: u64 = 10_000;

/// Runs the check passes until the broker shuts down.
pub(crate) async fn run(ctx: Arc<Ctx>) {
    let every = ctx.broker.config.transaction_check.interval;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ctx.broker.shutdown_signal() => break,
            _ = tick.tick() => check_pass(&ctx).await,
        }
    }
}

/// What to do with one unresolved half message.
enum Step {
    /// Too young: this and every later one wait for the next pass.
    Stop,
    /// Checked `transactionCheckMax` times already.
    Discard,
    /// Send check number n (1-based).
    Check(u32),
}

/// One pass over the unresolved half messages, oldest first.
pub(crate) async fn check_pass(ctx: &Ctx) {
    let store = &ctx.broker.store;
    let Some(cq) = store.consume_queue(HALF_TOPIC, 0) else {
        return;
    };
    let cfg = ctx.broker.config.transaction_check;
    let timeout_ms = i64::try_from(cfg.timeout.as_millis()).unwrap_or(i64::MAX);
    let start = ctx.transactions.lock().advance(cq.min_offset());
    let end = cq.max_offset().min(start.saturating_add(PASS_LIMIT));
    for q in start..end {
        if ctx.transactions.lock().is_done(q) {
            continue;
        }
        let Some((m, raw)) = cq
            .get(q)
            .and_then(|e| store.read_at(e.phy_offset))
            .and_then(|e| decode_message(&e.bytes).ok().map(|(m, _)| (m, e.bytes)))
        else {
            continue;
        };
        let step = {
            let mut st = ctx.transactions.lock();
            if now_ms().saturating_sub(m.store_timestamp) < timeout_ms {
                Step::Stop
            } else {
                let n = st.checks.entry(q).or_insert(0);
                if *n >= cfg.max {
                    Step::Discard
                } else {
                    *n += 1;
                    Step::Check(*n)
                }
            }
        };
        match step {
            Step::Stop => break,
            Step::Discard => {
                if ctx.transactions.resolve(q) {
                    warn!(
                        half_offset = q,
                        group = m.property("PGROUP").unwrap_or(""),
                        checks = cfg.max,
                        "transaction never resolved: half message discarded (rolled back)"
                    );
                    ctx.metrics
                        .transaction_checks
                        .with_label_values(&["discarded"])
                        .inc();
                    record_op(ctx, q, "discard").await;
                }
            }
            Step::Check(n) => send_check(ctx, &m, &raw, n),
        }
    }
}

/// Another front-end's way to ask its producers about a half message (the
/// gRPC RecoverOrphanedTransactionCommand, ADR 021): true when asked.
pub(crate) type OrphanHook = Box<dyn Fn(&MessageExt, &Bytes) -> bool + Send + Sync>;

/// The hook, set once by the front-end that has one.
#[derive(Default)]
pub(crate) struct OrphanChecks(std::sync::OnceLock<OrphanHook>);

impl std::fmt::Debug for OrphanChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "OrphanChecks(set)"
        } else {
            "OrphanChecks(none)"
        })
    }
}

impl OrphanChecks {
    pub(crate) fn set(&self, hook: OrphanHook) {
        let _ = self.0.set(hook);
    }

    fn send(&self, m: &MessageExt, raw: &Bytes) -> bool {
        self.0.get().is_some_and(|h| h(m, raw))
    }
}

/// Sends CHECK_TRANSACTION_STATE for half message `m` to a live producer of
/// its group, if there is one (else to a gRPC producer of its topic).
fn send_check(ctx: &Ctx, m: &MessageExt, raw: &Bytes, n: u32) {
    let group = m.property("PGROUP").unwrap_or("");
    let outcome = match ctx.clients.producer_channel(group) {
        Some(tx) => {
            let cmd = check_request(ctx, m);
            if tx
                .try_send(Reply {
                    cmd,
                    body: vec![check_body(ctx, m, raw)],
                })
                .is_ok()
            {
                "sent"
            } else {
                "no_producer"
            }
        }
        None if ctx.orphan_checks.send(m, raw) => "sent",
        None => "no_producer",
    };
    ctx.metrics
        .transaction_checks
        .with_label_values(&[outcome])
        .inc();
    if outcome == "sent" {
        info!(
            group,
            half_offset = m.queue_offset,
            check = n,
            "transaction back-check sent"
        );
    } else {
        debug!(
            group,
            half_offset = m.queue_offset,
            check = n,
            "no live producer for a back-check"
        );
    }
}

fn check_request(ctx: &Ctx, m: &MessageExt) -> RemotingCommand {
    let uniq = m.property("UNIQ_KEY").unwrap_or("");
    let mut ext = ExtFields::default();
    ext.insert("tranStateTableOffset", m.queue_offset.to_string());
    ext.insert("commitLogOffset", m.physical_offset.to_string());
    ext.insert("msgId", uniq);
    ext.insert(
        "transactionId",
        m.property("__transactionId__").unwrap_or(uniq),
    );
    ext.insert(
        "offsetMsgId",
        create_message_id(m.store_host, m.physical_offset),
    );
    ext.insert("topic", m.property("REAL_TOPIC").unwrap_or(""));
    ext.insert("bname", ctx.broker.config.broker_name.as_str());
    let mut cmd = RemotingCommand::request(RequestCode::CHECK_TRANSACTION_STATE.0, ext);
    cmd.flag = FLAG_ONEWAY;
    cmd.opaque = ctx.next_conn_id() as i32;
    cmd
}

/// The half message as a stored message in its real topic and queue; the
/// stored bytes themselves if it cannot be re-encoded.
fn check_body(ctx: &Ctx, m: &MessageExt, raw: &Bytes) -> Bytes {
    let topic = m.property("REAL_TOPIC").unwrap_or(HALF_TOPIC);
    let queue_id: u32 = m
        .property("REAL_QID")
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    if topic.is_empty() || topic.len() > 127 {
        return raw.clone();
    }
    let msg = MessageToStore {
        flag: m.flag,
        body: m.body.clone(),
        sys_flag: m.sys_flag,
        born_timestamp: m.born_timestamp,
        born_host: m.born_host,
        reconsume_times: m.reconsume_times,
        prepared_tx_offset: m.prepared_transaction_offset,
        properties: Bytes::copy_from_slice(m.properties.as_bytes()),
    };
    let place = Placement {
        topic: topic.as_bytes(),
        queue_id,
        queue_offset: u64::try_from(m.queue_offset).unwrap_or(0),
        phy_offset: u64::try_from(m.physical_offset).unwrap_or(0),
        store_timestamp: m.store_timestamp,
        store_host: ctx.broker.store.store_host(),
    };
    let mut buf = vec![0u8; rocketmq::encoded_len(&msg, topic.len(), &place.store_host)];
    rocketmq::encode(&mut buf, &msg, &place);
    Bytes::from(buf)
}
