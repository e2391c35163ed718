//! The embedded NameServer: routes, cluster info, broker (un)registration,
//! topic lists and the KV config store.
//!
//! The local broker is read live (its topic table and advertised address),
//! so a topic is routable the moment it is created; foreign brokers that
//! REGISTER_BROKER are kept for 120 s after their last registration.
//! TBW102 (perm 7, 8/8 queues) is routed while auto-create is on, which is
//! what makes the clients' auto-create fallback work (§4.1, §15a).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rokka_protocols::remoting::body::{
    BrokerData, ClusterInfo, KvTable, QueueData, RegisterBrokerBody, TopicList, TopicRouteData,
};
use rokka_protocols::remoting::{RemotingCommand, ResponseCode};

use super::context::{Ctx, HResult, HandlerError};
use super::header::{opt, req_str};
use super::reply::{ok, ok_json};

/// The auto-create template topic.
pub(crate) const TBW102: &str = "TBW102";
const BROKER_EXPIRY: Duration = Duration::from_secs(120);
const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

#[derive(Debug, Clone)]
struct ForeignBroker {
    cluster: String,
    addrs: BTreeMap<String, String>,
    topics: BTreeMap<String, QueueData>,
    last: Instant,
}

/// NameServer state besides the local broker.
#[derive(Debug, Default)]
pub(crate) struct NameSrv {
    kv: Mutex<BTreeMap<String, BTreeMap<String, String>>>,
    foreign: Mutex<BTreeMap<String, ForeignBroker>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl NameSrv {
    fn live_foreign(&self) -> Vec<(String, ForeignBroker)> {
        let mut f = lock(&self.foreign);
        f.retain(|_, b| b.last.elapsed() < BROKER_EXPIRY);
        f.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// The local broker group's addresses: this broker as master (id 0); in
/// cluster mode the elected master as 0 and the other members as slaves
/// 1.. in node-id order (no 0 while no master is elected: consumers then
/// pull from a slave, RocketMQ's slave read).
fn local_broker_addrs(ctx: &Ctx) -> BTreeMap<String, String> {
    let Some(c) = &ctx.broker.cluster else {
        return BTreeMap::from([("0".to_owned(), ctx.advertised.to_string())]);
    };
    group_broker_addrs(&c.view(), c.group())
}

/// A broker group's addresses in the cluster view: master 0, slaves 1...
fn group_broker_addrs(view: &rokka_cluster::ClusterView, group: &str) -> BTreeMap<String, String> {
    let master = view.master_of(group).map(|(m, _)| m);
    let mut addrs = BTreeMap::new();
    let mut next_slave = 1u64;
    for n in crate::cluster::Cluster::members_of(view, group) {
        if Some(n.id) == master {
            addrs.insert("0".to_owned(), n.addrs.remoting);
        } else {
            addrs.insert(next_slave.to_string(), n.addrs.remoting);
            next_slave += 1;
        }
    }
    addrs
}

fn local_broker_data(ctx: &Ctx) -> BrokerData {
    let cfg = &ctx.broker.config;
    BrokerData {
        broker_addrs: local_broker_addrs(ctx),
        broker_name: cfg.broker_name.clone(),
        cluster: cfg.broker_cluster_name.clone(),
        enable_acting_master: false,
    }
}

/// This broker's QueueData of a topic in its own table (or TBW102 while
/// auto-creation is on).
pub(crate) fn local_queue_data(ctx: &Ctx, topic: &str) -> Option<QueueData> {
    let name = ctx.broker.config.broker_name.clone();
    if let Some(t) = ctx.broker.topic(topic) {
        return Some(QueueData {
            broker_name: name,
            // brokerPermission (wipe/add write perm) caps every topic's.
            perm: t.perm & (ctx.broker.dynamic.broker_permission() | 1),
            read_queue_nums: t.read_queue_nums,
            topic_sys_flag: t.topic_sys_flag,
            write_queue_nums: t.write_queue_nums,
        });
    }
    (topic == TBW102 && ctx.broker.dynamic.auto_create_topic_enable()).then_some(QueueData {
        broker_name: name,
        perm: 7,
        read_queue_nums: 8,
        topic_sys_flag: 0,
        write_queue_nums: 8,
    })
}

/// The other broker groups of the cluster (ADR 024), as BrokerData.
fn cluster_groups(ctx: &Ctx) -> Vec<BrokerData> {
    let Some(c) = &ctx.broker.cluster else {
        return Vec::new();
    };
    let view = c.view();
    view.state
        .groups
        .keys()
        .filter(|g| *g != c.group())
        .map(|g| BrokerData {
            broker_addrs: group_broker_addrs(&view, g),
            broker_name: g.clone(),
            cluster: ctx.broker.config.broker_cluster_name.clone(),
            enable_acting_master: false,
        })
        .collect()
}

/// The queues of a topic placed by range over broker groups (ADR 024): per
/// range, a QueueData named after its group with the range's queue count
/// (the group's local ids), read-only when drained. Also what the gRPC
/// front-end routes by (ADR 021).
pub(crate) fn ranged_queue_datas(ctx: &Ctx, topic: &str) -> Option<Vec<QueueData>> {
    let c = ctx.broker.cluster.as_ref()?;
    let ranges = c.ranges(topic);
    if ranges.is_empty() {
        return None;
    }
    let home = c.home_config(topic)?;
    let out = ranges
        .iter()
        .map(|r| {
            // This group's table, else the home config (the first range),
            // else the range's count: read and write queue counts may differ
            // while RocketMQ shrinks a topic's write queues.
            let local = (r.group == c.group())
                .then(|| ctx.broker.topic(topic))
                .flatten();
            let cfg = match local {
                Some(t) => t,
                None if r.base == 0 => home.clone(),
                None => crate::cluster::config_for(home.clone(), r),
            };
            let mut perm = cfg.perm;
            if r.group == c.group() {
                // brokerPermission (wipe/add write perm) caps every topic's.
                perm &= ctx.broker.dynamic.broker_permission() | 1;
            }
            if r.drained {
                perm &= !crate::broker::dynamic_config::PERM_WRITE;
            }
            QueueData {
                broker_name: r.group.clone(),
                perm,
                read_queue_nums: cfg.read_queue_nums,
                topic_sys_flag: cfg.topic_sys_flag,
                write_queue_nums: cfg.write_queue_nums,
            }
        })
        .collect();
    Some(out)
}

/// The route of a topic placed by range over broker groups: its
/// [`ranged_queue_datas`], each with its group's BrokerData.
fn ranged_route(ctx: &Ctx, topic: &str) -> Option<Vec<(QueueData, BrokerData)>> {
    let c = ctx.broker.cluster.as_ref()?;
    let queues = ranged_queue_datas(ctx, topic)?;
    let view = c.view();
    let out = queues
        .into_iter()
        .map(|q| {
            let b = BrokerData {
                broker_addrs: group_broker_addrs(&view, &q.broker_name),
                broker_name: q.broker_name.clone(),
                cluster: ctx.broker.config.broker_cluster_name.clone(),
                enable_acting_master: false,
            };
            (q, b)
        })
        .collect();
    Some(out)
}

/// GET_ROUTEINFO_BY_TOPIC (105).
pub(crate) fn route(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let topic = req_str(req, "topic")?;
    let mut route = TopicRouteData::default();
    if let Some(ranged) = ranged_route(ctx, topic) {
        for (q, b) in ranged {
            route.queue_datas.push(q);
            route.broker_datas.push(b);
        }
    } else if let Some(q) = local_queue_data(ctx, topic) {
        route.queue_datas.push(q);
        route.broker_datas.push(local_broker_data(ctx));
    }
    for (name, b) in ctx.namesrv.live_foreign() {
        if let Some(q) = b.topics.get(topic) {
            route.queue_datas.push(q.clone());
            route.broker_datas.push(BrokerData {
                broker_addrs: b.addrs.clone(),
                broker_name: name,
                cluster: b.cluster.clone(),
                enable_acting_master: false,
            });
        }
    }
    if route.queue_datas.is_empty() {
        return Err(HandlerError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!(
                "No topic route info in name server for the topic: {topic}\nSee http://rocketmq.apache.org/docs/faq/ for further details."
            ),
        ));
    }
    route.order_topic_conf = lock(&ctx.namesrv.kv)
        .get(ORDER_TOPIC_CONFIG)
        .and_then(|ns| ns.get(topic).cloned());
    ok_json(req, &route)
}

/// GET_BROKER_CLUSTER_INFO (106).
pub(crate) fn cluster_info(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let mut info = ClusterInfo::default();
    let local = local_broker_data(ctx);
    info.cluster_addr_table
        .entry(local.cluster.clone())
        .or_default()
        .push(local.broker_name.clone());
    info.broker_addr_table
        .insert(local.broker_name.clone(), local);
    // The cluster's other broker groups (ADR 024).
    for b in cluster_groups(ctx) {
        info.cluster_addr_table
            .entry(b.cluster.clone())
            .or_default()
            .push(b.broker_name.clone());
        info.broker_addr_table.insert(b.broker_name.clone(), b);
    }
    for (name, b) in ctx.namesrv.live_foreign() {
        info.cluster_addr_table
            .entry(b.cluster.clone())
            .or_default()
            .push(name.clone());
        info.broker_addr_table.insert(
            name.clone(),
            BrokerData {
                broker_addrs: b.addrs,
                broker_name: name,
                cluster: b.cluster,
                enable_acting_master: false,
            },
        );
    }
    ok_json(req, &info)
}

/// REGISTER_BROKER (103): JSON bodies only (a compressed body is refused).
pub(crate) fn register_broker(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let name = req_str(req, "brokerName")?.to_owned();
    let addr = req_str(req, "brokerAddr")?.to_owned();
    let cluster = req_str(req, "clusterName")?.to_owned();
    let id: i64 = opt(req, "brokerId")?.unwrap_or(0);
    if opt::<bool>(req, "compressed")?.unwrap_or(false) {
        return Err(HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            "compressed registration bodies are not supported",
        ));
    }
    if let Some(crc) = opt::<i64>(req, "bodyCrc32")?.filter(|c| *c != 0) {
        let ours = (crc32fast::hash(&req.body) & 0x7FFF_FFFF) as i64;
        if ours != crc {
            return Err(HandlerError::new(
                ResponseCode::SYSTEM_ERROR,
                "crc32 not match",
            ));
        }
    }
    if name == ctx.broker.config.broker_name {
        return Err(HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("broker name {name} is the embedded broker's own"),
        ));
    }
    let body: RegisterBrokerBody = if req.body.is_empty() {
        RegisterBrokerBody::default()
    } else {
        serde_json::from_slice(&req.body).map_err(|e| {
            HandlerError::new(
                ResponseCode::SYSTEM_ERROR,
                format!("bad RegisterBrokerBody: {e}"),
            )
        })?
    };
    let topics = body
        .topic_config_serialize_wrapper
        .topic_config_table
        .into_iter()
        .map(|(t, c)| {
            (
                t,
                QueueData {
                    broker_name: name.clone(),
                    perm: c.perm,
                    read_queue_nums: c.read_queue_nums,
                    topic_sys_flag: c.topic_sys_flag,
                    write_queue_nums: c.write_queue_nums,
                },
            )
        })
        .collect();
    let mut f = lock(&ctx.namesrv.foreign);
    let entry = f.entry(name).or_insert_with(|| ForeignBroker {
        cluster: cluster.clone(),
        addrs: BTreeMap::new(),
        topics: BTreeMap::new(),
        last: Instant::now(),
    });
    entry.cluster = cluster;
    // One id per address, as RocketMQ's RouteInfoManager: a slave promoted
    // to master (or a master demoted) leaves its old id.
    let key = id.to_string();
    entry.addrs.retain(|k, a| *a != addr || *k == key);
    entry.addrs.insert(key, addr);
    entry.topics = topics;
    entry.last = Instant::now();
    let mut reply = ok(req, &[]);
    reply.cmd.ext_mut();
    Ok(reply)
}

/// UNREGISTER_BROKER (104).
pub(crate) fn unregister_broker(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let name = req_str(req, "brokerName")?;
    let id: i64 = opt(req, "brokerId")?.unwrap_or(0);
    let mut f = lock(&ctx.namesrv.foreign);
    if let Some(b) = f.get_mut(name) {
        b.addrs.remove(&id.to_string());
        if b.addrs.is_empty() {
            f.remove(name);
        }
    }
    Ok(ok(req, &[]))
}

/// GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206), GET_TOPICS_BY_CLUSTER (224),
/// GET_SYSTEM_TOPIC_LIST_FROM_NS (304).
pub(crate) fn topic_list(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let cfg = &ctx.broker.config;
    let mut all: Vec<String> = ctx
        .broker
        .store
        .topics()
        .list()
        .into_iter()
        .map(|t| t.topic_name)
        .collect();
    if cfg.auto_create_topic_enable {
        all.push(TBW102.to_owned());
    }
    all.push(cfg.broker_cluster_name.clone());
    all.push(cfg.broker_name.clone());
    for (_, b) in ctx.namesrv.live_foreign() {
        all.extend(b.topics.into_keys());
    }
    all.sort();
    all.dedup();
    ok_json(
        req,
        &TopicList {
            broker_addr: None,
            topic_list: all,
        },
    )
}

/// PUT_KV_CONFIG (100).
pub(crate) fn put_kv(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let (ns, k, v) = (
        req_str(req, "namespace")?,
        req_str(req, "key")?,
        req_str(req, "value")?,
    );
    lock(&ctx.namesrv.kv)
        .entry(ns.to_owned())
        .or_default()
        .insert(k.to_owned(), v.to_owned());
    Ok(ok(req, &[]))
}

/// GET_KV_CONFIG (101): SUCCESS + `value`, or QUERY_NOT_FOUND.
pub(crate) fn get_kv(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let (ns, k) = (req_str(req, "namespace")?, req_str(req, "key")?);
    let v = lock(&ctx.namesrv.kv)
        .get(ns)
        .and_then(|m| m.get(k).cloned());
    match v {
        Some(v) => Ok(ok(req, &[("value", v)])),
        None => Err(HandlerError::new(
            ResponseCode::QUERY_NOT_FOUND,
            format!("No config item, Namespace: {ns} Key: {k}"),
        )),
    }
}

/// DELETE_KV_CONFIG (102).
pub(crate) fn delete_kv(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let (ns, k) = (req_str(req, "namespace")?, req_str(req, "key")?);
    if let Some(m) = lock(&ctx.namesrv.kv).get_mut(ns) {
        m.remove(k);
    }
    Ok(ok(req, &[]))
}

/// GET_KVLIST_BY_NAMESPACE (219).
pub(crate) fn kv_list(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let ns = req_str(req, "namespace")?;
    let table = lock(&ctx.namesrv.kv).get(ns).cloned().unwrap_or_default();
    if table.is_empty() {
        return Err(HandlerError::new(
            ResponseCode::QUERY_NOT_FOUND,
            format!("No config item, Namespace: {ns}"),
        ));
    }
    ok_json(req, &KvTable { table })
}

/// DELETE_TOPIC_IN_NAMESRV (216): forgets the topic on foreign brokers (the
/// local broker's topics go with DELETE_TOPIC_IN_BROKER).
pub(crate) fn delete_topic(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let topic = req_str(req, "topic")?;
    for b in lock(&ctx.namesrv.foreign).values_mut() {
        b.topics.remove(topic);
    }
    Ok(ok(req, &[]))
}
