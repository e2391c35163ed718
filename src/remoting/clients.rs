//! Client registration: HEART_BEAT, UNREGISTER_CLIENT,
//! GET_CONSUMER_LIST_BY_GROUP, CHECK_CLIENT_CONFIG, the connection lists
//! (203, 204), and the broker's own
//! NOTIFY_CONSUMER_IDS_CHANGED (oneway, JSON) to a group's members when its
//! membership or topic set changes. Channels expire 120 s after their last
//! heartbeat (scanned every 10 s) or at once when the connection closes.
//!
//! Consumer counts per group are published to the broker's group registry
//! whenever they change; a consumer group with live Kafka members is not
//! joined (ADR 006): the heartbeat's other groups still apply and the reply
//! is SYSTEM_ERROR naming the group.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rokka_protocols::remoting::body::{ConsumerListBody, HeartbeatData, SubscriptionData};
use rokka_protocols::remoting::codes::FLAG_ONEWAY;
use rokka_protocols::remoting::{ExtFields, RemotingCommand, RequestCode, ResponseCode};
use rokka_store::topics::TopicConfig;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::conn::ConnInfo;
use super::context::{Ctx, HResult, HandlerError, Reply};
use super::header::req_str;
use super::reply::{ok, ok_json};
use crate::broker::filter::FilterError;
use crate::broker::groups::{GroupRegistry, GroupRequest, Protocol};

const CHANNEL_EXPIRY: Duration = Duration::from_secs(120);

/// The retry topic of a consumer group.
pub(crate) fn retry_topic(group: &str) -> String {
    format!("%RETRY%{group}")
}

#[derive(Debug)]
struct Member {
    client_id: String,
    tx: mpsc::Sender<Reply>,
    last: Instant,
    addr: std::net::SocketAddr,
    language: &'static str,
    version: i32,
}

#[derive(Debug, Default)]
struct Group {
    members: HashMap<u64, Member>,
    subs: HashMap<String, SubscriptionData>,
    consume_type: String,
    message_model: String,
    consume_from_where: String,
}

#[derive(Debug, Default)]
struct Inner {
    consumers: HashMap<String, Group>,
    /// Producer groups: connection → the producer (its reply channel serves
    /// transaction back-checks).
    producers: HashMap<String, HashMap<u64, Member>>,
}

/// Consumer and producer groups by connection.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    inner: Mutex<Inner>,
}

impl Clients {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The registered subscription of (group, topic).
    pub(crate) fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.lock()
            .consumers
            .get(group)
            .and_then(|g| g.subs.get(topic).cloned())
    }

    /// The message model (`CLUSTERING` / `BROADCASTING`) the group's
    /// consumers registered, while any is live.
    pub(crate) fn message_model(&self, group: &str) -> Option<String> {
        self.lock()
            .consumers
            .get(group)
            .map(|g| g.message_model.clone())
    }

    /// The reply channels and client ids of the live consumers of `group`.
    pub(crate) fn consumer_channels(&self, group: &str) -> Vec<(String, mpsc::Sender<Reply>)> {
        self.lock().consumers.get(group).map_or_else(Vec::new, |g| {
            g.members
                .values()
                .map(|m| (m.client_id.clone(), m.tx.clone()))
                .collect()
        })
    }

    /// The reply channel of the producer of `group` heard from last.
    pub(crate) fn producer_channel(&self, group: &str) -> Option<mpsc::Sender<Reply>> {
        self.lock()
            .producers
            .get(group)?
            .values()
            .max_by_key(|m| m.last)
            .map(|m| m.tx.clone())
    }

    /// Drops a closed connection from every group, notifying remaining members.
    pub(crate) fn channel_closed(&self, conn: u64, ctx: &Ctx) {
        let mut notify = Vec::new();
        {
            let mut inner = self.lock();
            for (name, g) in inner.consumers.iter_mut() {
                if g.members.remove(&conn).is_some() {
                    publish(&ctx.broker.groups, name, g);
                    notify.push((name.clone(), senders(g)));
                }
            }
            inner.consumers.retain(|_, g| !g.members.is_empty());
            for p in inner.producers.values_mut() {
                p.remove(&conn);
            }
            inner.producers.retain(|_, p| !p.is_empty());
        }
        for (group, txs) in notify {
            send_notify(ctx, &group, txs);
        }
    }

    fn expire(&self, ctx: &Ctx) {
        let mut notify = Vec::new();
        {
            let mut inner = self.lock();
            for (name, g) in inner.consumers.iter_mut() {
                let before = g.members.len();
                g.members.retain(|_, m| m.last.elapsed() < CHANNEL_EXPIRY);
                if g.members.len() != before {
                    publish(&ctx.broker.groups, name, g);
                    notify.push((name.clone(), senders(g)));
                }
            }
            inner.consumers.retain(|_, g| !g.members.is_empty());
            for p in inner.producers.values_mut() {
                p.retain(|_, m| m.last.elapsed() < CHANNEL_EXPIRY);
            }
            inner.producers.retain(|_, p| !p.is_empty());
        }
        for (group, txs) in notify {
            send_notify(ctx, &group, txs);
        }
    }
}

/// Publishes the consumer count of `name` (0 frees the group for Kafka).
fn publish(registry: &GroupRegistry, name: &str, g: &Group) {
    registry.set_members(name, Protocol::Remoting, g.members.len());
}

fn senders(g: &Group) -> Vec<mpsc::Sender<Reply>> {
    g.members.values().map(|m| m.tx.clone()).collect()
}

/// NOTIFY_CONSUMER_IDS_CHANGED to each channel: oneway, JSON, never answered.
fn send_notify(ctx: &Ctx, group: &str, txs: Vec<mpsc::Sender<Reply>>) {
    for tx in txs {
        let mut ext = ExtFields::default();
        ext.insert("consumerGroup", group);
        let mut cmd = RemotingCommand::request(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED.0, ext);
        cmd.flag = FLAG_ONEWAY;
        cmd.opaque = ctx.next_conn_id() as i32;
        if tx.try_send(Reply::new(cmd)).is_err() {
            debug!(group, "could not queue NOTIFY_CONSUMER_IDS_CHANGED");
        }
    }
}

/// Expires idle channels every 10 s until shutdown.
pub(crate) async fn housekeeping(ctx: Arc<Ctx>) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = ctx.broker.shutdown_signal() => break,
            _ = tick.tick() => {
                ctx.clients.expire(&ctx);
                ctx.locks.expire();
            }
        }
    }
}

/// The client on `conn` as of a heartbeat at `now`.
fn member(conn: &ConnInfo, req: &RemotingCommand, client_id: &str, now: Instant) -> Member {
    Member {
        client_id: client_id.to_owned(),
        tx: conn.tx.clone(),
        last: now,
        addr: conn.peer,
        language: req.language.name(),
        version: req.version,
    }
}

/// HEART_BEAT (34).
pub(crate) fn heartbeat(ctx: &Ctx, conn: &ConnInfo, req: &RemotingCommand) -> HResult {
    let hb: HeartbeatData = serde_json::from_slice(&req.body).map_err(|e| {
        HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("bad HeartbeatData: {e}"),
        )
    })?;
    let now = Instant::now();
    let mut refused = Vec::new();
    for c in &hb.consumer_data_set {
        if c.group_name.is_empty() {
            continue;
        }
        let txs = {
            let mut inner = ctx.clients.lock();
            let (known, members) = inner.consumers.get(&c.group_name).map_or((false, 0), |g| {
                (g.members.contains_key(&conn.id), g.members.len())
            });
            let after = if known { members } else { members + 1 };
            // Checked and published under the registry's lock, so a Kafka
            // JoinGroup racing this heartbeat cannot get in too.
            if let Err(r) = ctx.broker.groups.claim(
                &c.group_name,
                Protocol::Remoting,
                after,
                GroupRequest::Heartbeat,
            ) {
                if r.repeated {
                    debug!(group = %r.group, owner = r.owner.label(), members = r.members, client = %hb.client_id, "consumer not registered: {r}");
                } else {
                    warn!(group = %r.group, owner = r.owner.label(), members = r.members, client = %hb.client_id, "consumer not registered: {r}");
                }
                refused.push(r.to_string());
                continue;
            }
            let g = inner.consumers.entry(c.group_name.clone()).or_default();
            let before: BTreeSet<String> = g.subs.keys().cloned().collect();
            let is_new = !g.members.contains_key(&conn.id);
            g.members
                .insert(conn.id, member(conn, req, &hb.client_id, now));
            g.consume_type = c.consume_type.clone();
            g.message_model = c.message_model.clone();
            g.consume_from_where = c.consume_from_where.clone();
            // Last writer wins; keep an entry when the incoming one is older.
            let mut subs = HashMap::new();
            for s in &c.subscription_data_set {
                let keep = g
                    .subs
                    .get(&s.topic)
                    .filter(|old| old.sub_version > s.sub_version)
                    .cloned();
                subs.insert(s.topic.clone(), keep.unwrap_or_else(|| s.clone()));
            }
            // A lite-pull/pull instance sends no subscriptions: keep the others'.
            if !subs.is_empty() {
                g.subs = subs;
            }
            let after: BTreeSet<String> = g.subs.keys().cloned().collect();
            (is_new || before != after).then(|| senders(g))
        };
        let retry = retry_topic(&c.group_name);
        if ctx.broker.topic(&retry).is_none() {
            // As upstream: the group's record (auto-created) sizes its retry topic.
            let queues = match ctx.broker.subscription_group(&c.group_name) {
                Ok(Some(g)) => g.retry_queue_nums.clamp(1, 1024) as u32,
                _ => 1,
            };
            if let Err(e) = ctx
                .broker
                .store
                .topics()
                .get_or_create(TopicConfig::new(&retry, queues))
            {
                warn!(topic = retry, "cannot create the retry topic: {e}");
            }
        }
        if let Some(txs) = txs {
            send_notify(ctx, &c.group_name, txs);
        }
    }
    {
        let mut inner = ctx.clients.lock();
        for p in &hb.producer_data_set {
            inner
                .producers
                .entry(p.group_name.clone())
                .or_default()
                .insert(conn.id, member(conn, req, &hb.client_id, now));
        }
    }
    if !refused.is_empty() {
        // Clients log a failed heartbeat and send the next one on schedule.
        return Err(HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            refused.join("; "),
        ));
    }
    Ok(ok(req, &[]))
}

/// UNREGISTER_CLIENT (35).
pub(crate) fn unregister(ctx: &Ctx, conn: &ConnInfo, req: &RemotingCommand) -> HResult {
    let client_id = req_str(req, "clientID")?;
    let mut notify = None;
    {
        let mut inner = ctx.clients.lock();
        if let Some(group) = req.ext("consumerGroup") {
            if let Some(g) = inner.consumers.get_mut(group) {
                let before = g.members.len();
                g.members
                    .retain(|id, m| *id != conn.id && m.client_id != client_id);
                if g.members.len() != before {
                    publish(&ctx.broker.groups, group, g);
                    notify = Some((group.to_owned(), senders(g)));
                }
                if g.members.is_empty() {
                    inner.consumers.remove(group);
                }
            }
        }
        if let Some(group) = req.ext("producerGroup") {
            if let Some(p) = inner.producers.get_mut(group) {
                p.remove(&conn.id);
                if p.is_empty() {
                    inner.producers.remove(group);
                }
            }
        }
    }
    if let Some((group, txs)) = notify {
        send_notify(ctx, &group, txs);
    }
    let mut r = ok(req, &[]);
    r.cmd.ext_mut();
    Ok(r)
}

/// GET_CONSUMER_LIST_BY_GROUP (38).
pub(crate) fn consumer_list(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let group = req_str(req, "consumerGroup")?;
    let mut ids: Vec<String> = ctx
        .clients
        .lock()
        .consumers
        .get(group)
        .map(|g| g.members.values().map(|m| m.client_id.clone()).collect())
        .unwrap_or_default();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Err(HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("no consumer for this group, {group}"),
        ));
    }
    let mut r = ok_json(
        req,
        &ConsumerListBody {
            consumer_id_list: ids,
        },
    )?;
    r.cmd.ext_mut();
    Ok(r)
}

/// CHECK_CLIENT_CONFIG (46), as upstream: TAG subscriptions pass; others
/// are SYSTEM_ERROR while `enablePropertyFilter` is off, else compiled
/// (and cached for the pulls): SUBSCRIPTION_PARSE_FAILED with the reason
/// when that fails.
pub(crate) fn check_client_config(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
    let text = |p: &str| body.pointer(p).and_then(|v| v.as_str()).unwrap_or("");
    let kind = text("/subscriptionData/expressionType");
    if kind.is_empty() || kind.eq_ignore_ascii_case("TAG") {
        return Ok(ok(req, &[]));
    }
    if !ctx.broker.config.enable_property_filter {
        return Err(HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("The broker does not support consumer to filter message by {kind}"),
        ));
    }
    let (group, topic) = (text("/group"), text("/subscriptionData/topic"));
    let expr = text("/subscriptionData/subString");
    match ctx.broker.filters.filter(true, group, topic, kind, expr) {
        Ok(_) => Ok(ok(req, &[])),
        Err(FilterError::Unsupported(t)) => Err(HandlerError::new(
            ResponseCode::SUBSCRIPTION_PARSE_FAILED,
            format!("unknown expression type {t}"),
        )),
        Err(FilterError::Invalid(e)) => Err(HandlerError::new(
            ResponseCode::SUBSCRIPTION_PARSE_FAILED,
            e.to_string(),
        )),
    }
}

/// GET_CONSUMER_CONNECTION_LIST (203): the group's connections and
/// subscriptions, or CONSUMER_NOT_ONLINE (206).
pub(crate) fn consumer_connections(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let group = req_str(req, "consumerGroup")?;
    let body = {
        let inner = ctx.clients.lock();
        let Some(g) = inner.consumers.get(group) else {
            return Err(HandlerError::new(
                ResponseCode::CONSUMER_NOT_ONLINE,
                format!("the consumer group[{group}] not online"),
            ));
        };
        let conns: Vec<_> = g.members.values().map(connection_json).collect();
        serde_json::json!({
            "connectionSet": conns,
            "consumeFromWhere": g.consume_from_where,
            "consumeType": g.consume_type,
            "messageModel": g.message_model,
            "subscriptionTable": g.subs,
        })
    };
    ok_json(req, &body)
}

/// One connection as GET_CONSUMER/PRODUCER_CONNECTION_LIST show it.
fn connection_json(m: &Member) -> serde_json::Value {
    serde_json::json!({
        "clientAddr": m.addr.to_string(),
        "clientId": m.client_id,
        "language": m.language,
        "version": m.version,
    })
}

/// GET_PRODUCER_CONNECTION_LIST (204, the Dashboard's producer page): the
/// group's live producers, or SYSTEM_ERROR as upstream.
pub(crate) fn producer_connections(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let group = req_str(req, "producerGroup")?;
    let conns: Option<Vec<serde_json::Value>> = ctx
        .clients
        .lock()
        .producers
        .get(group)
        .map(|p| p.values().map(connection_json).collect());
    match conns {
        Some(c) => ok_json(req, &serde_json::json!({ "connectionSet": c })),
        None => Err(HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("the producer group[{group}] not exist"),
        )),
    }
}

/// QUERY_TOPIC_CONSUME_BY_WHO (300): groups subscribed to or holding offsets
/// of the topic.
pub(crate) fn consumed_by(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let topic = req_str(req, "topic")?;
    let mut groups: BTreeSet<String> = ctx
        .clients
        .lock()
        .consumers
        .iter()
        .filter(|(_, g)| g.subs.contains_key(topic))
        .map(|(n, _)| n.clone())
        .collect();
    let offsets = ctx.broker.store.offsets();
    for g in crate::broker::consumer_groups(&ctx.broker.store) {
        if offsets.group_offsets(&g).iter().any(|(t, _, _)| t == topic) {
            groups.insert(g);
        }
    }
    ok_json(req, &serde_json::json!({ "groupList": groups }))
}
