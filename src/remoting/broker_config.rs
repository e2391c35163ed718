//! Broker and NameServer settings as mqadmin reads and changes them:
//! GET_BROKER_CONFIG (26), UPDATE_BROKER_CONFIG (25), GET_NAMESRV_CONFIG
//! (319), UPDATE_NAMESRV_CONFIG (318), and the NameServer's
//! WIPE_WRITE_PERM_OF_BROKER (205) / ADD_WRITE_PERM_OF_BROKER (327).
//!
//! Bodies are Java properties text (`key=value` lines), as upstream's
//! `MixAll.properties2String`; GET_BROKER_CONFIG also answers the
//! `version` field (DataVersion JSON). Dynamic keys
//! (`broker::dynamic_config`) change at once and persist; any other known
//! key is refused with INVALID_PARAMETER and a remark saying it needs a
//! restart, an unknown key likewise, and nothing of a refused update applies.
//! Write permission is the broker's `brokerPermission`: wiping it makes the
//! routes show the topics read-only and refuses RocketMQ sends.

use std::fmt::Write as _;

use rokka_protocols::remoting::{RemotingCommand, ResponseCode};

use super::context::{Ctx, HResult, HandlerError};
use super::header::req_str;
use super::reply::ok;
use crate::broker::dynamic_config::{UpdateError, PERM_WRITE};

/// The broker's settings under their RocketMQ names, values in force.
fn broker_properties(ctx: &Ctx) -> Vec<(String, String)> {
    let c = &ctx.broker.config;
    let s = ctx.broker.store.config();
    let mut out: Vec<(String, String)> = vec![
        ("brokerName".into(), c.broker_name.clone()),
        ("brokerClusterName".into(), c.broker_cluster_name.clone()),
        ("brokerId".into(), c.broker_id.to_string()),
        (
            "brokerRole".into(),
            match c.broker_role {
                crate::config::BrokerRole::AsyncMaster => "ASYNC_MASTER",
                crate::config::BrokerRole::SyncMaster => "SYNC_MASTER",
            }
            .into(),
        ),
        ("brokerIP1".into(), ctx.advertised.ip().to_string()),
        ("listenPort".into(), ctx.advertised.port().to_string()),
        ("namesrvAddr".into(), c.namesrv_addr.join(";")),
        ("storePathRootDir".into(), s.root_dir.display().to_string()),
        (
            "storePathCommitLog".into(),
            s.commit_log_dir.display().to_string(),
        ),
        (
            "flushDiskType".into(),
            match s.flush_disk_type {
                rokka_store::FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
                rokka_store::FlushDiskType::SyncFlush => "SYNC_FLUSH",
            }
            .into(),
        ),
        (
            "flushIntervalCommitLog".into(),
            s.flush_interval.as_millis().to_string(),
        ),
        ("fileReservedTime".into(), s.file_reserved_hours.to_string()),
        (
            "deleteWhen".into(),
            s.delete_when
                .iter()
                .map(|h| format!("{h:02}"))
                .collect::<Vec<_>>()
                .join(";"),
        ),
        (
            "diskMaxUsedSpaceRatio".into(),
            format!("{}", (s.disk_max_used_space_ratio * 100.0).round()),
        ),
        (
            "mapedFileSizeCommitLog".into(),
            s.commit_log_segment_size.to_string(),
        ),
        ("maxMessageSize".into(), s.max_message_size.to_string()),
        (
            "transactionTimeOut".into(),
            c.transaction_check.timeout.as_millis().to_string(),
        ),
        (
            "transactionCheckInterval".into(),
            c.transaction_check.interval.as_millis().to_string(),
        ),
        (
            "transactionCheckMax".into(),
            c.transaction_check.max.to_string(),
        ),
    ];
    for (k, v) in ctx.broker.dynamic.current() {
        out.push((k.to_owned(), v));
    }
    out.sort();
    out
}

fn properties_text(props: &[(String, String)]) -> String {
    let mut text = String::new();
    for (k, v) in props {
        let _ = writeln!(text, "{k}={v}");
    }
    text
}

/// Parses a properties body; None for an empty body.
fn parse_body(cmd: &RemotingCommand) -> Result<Vec<(String, String)>, HandlerError> {
    let text = std::str::from_utf8(&cmd.body)
        .map_err(|_| HandlerError::new(ResponseCode::SYSTEM_ERROR, "string2Properties error"))?;
    let entries = crate::config::properties::parse(text).map_err(|e| {
        HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("string2Properties error: line {}: {}", e.line, e.reason),
        )
    })?;
    Ok(entries.into_iter().map(|e| (e.key, e.value)).collect())
}

/// GET_BROKER_CONFIG (26).
pub(crate) fn get_broker_config(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let mut r = ok(cmd, &[]);
    let version =
        serde_json::to_string(&ctx.broker.dynamic.data_version()).unwrap_or_else(|_| "{}".into());
    r.cmd.ext_mut().insert("version", version);
    r.cmd.body = properties_text(&broker_properties(ctx)).into();
    Ok(super::context::Reply::new(r.cmd))
}

/// UPDATE_BROKER_CONFIG (25): all or nothing.
pub(crate) fn update_broker_config(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let props = parse_body(cmd)?;
    ctx.broker.dynamic.update(&props).map_err(|e| {
        let code = match e {
            UpdateError::Persist { .. } => ResponseCode::SYSTEM_ERROR,
            _ => ResponseCode::INVALID_PARAMETER,
        };
        HandlerError::new(code, e.to_string())
    })?;
    tracing::info!(?props, "broker config updated");
    Ok(ok(cmd, &[]))
}

/// GET_NAMESRV_CONFIG (319): the embedded NameServer's settings.
pub(crate) fn get_namesrv_config(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let props = vec![
        ("clusterTest".to_owned(), "false".to_owned()),
        (
            "listenPort".to_owned(),
            ctx.broker.config.namesrv_listen.port().to_string(),
        ),
        ("orderMessageEnable".to_owned(), "false".to_owned()),
    ];
    let mut resp = cmd.response_to(ResponseCode::SUCCESS.0);
    resp.body = properties_text(&props).into();
    Ok(super::context::Reply::new(resp))
}

/// UPDATE_NAMESRV_CONFIG (318): the embedded NameServer has no setting that
/// changes at run time; every key is refused naming it (nothing applied).
pub(crate) fn update_namesrv_config(_ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let props = parse_body(cmd)?;
    if let Some((k, _)) = props.first() {
        return Err(HandlerError::new(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "{k}: the embedded NameServer has no run-time settings; set NameServer keys \
                 (rokka.namesrvPort, ...) in rokka's config file and restart"
            ),
        ));
    }
    Ok(ok(cmd, &[]))
}

/// Sets or clears PERM_WRITE of this broker when `brokerName` names it;
/// answers how many topics changed under `count_field`.
fn write_perm(ctx: &Ctx, cmd: &RemotingCommand, on: bool, count_field: &str) -> HResult {
    let name = req_str(cmd, "brokerName")?;
    let mut count = 0;
    if name == ctx.broker.config.broker_name {
        let perm = ctx.broker.dynamic.broker_permission();
        let next = if on {
            perm | PERM_WRITE
        } else {
            perm & !PERM_WRITE
        };
        if next != perm {
            count = ctx.broker.store.topics().list().len();
            ctx.broker
                .dynamic
                .update(&[("brokerPermission".into(), next.to_string())])
                .map_err(|e| HandlerError::new(ResponseCode::SYSTEM_ERROR, e.to_string()))?;
            tracing::info!(
                broker = name,
                perm = next,
                "broker write permission changed"
            );
        }
    }
    Ok(ok(cmd, &[(count_field, count.to_string())]))
}

/// WIPE_WRITE_PERM_OF_BROKER (205, NameServer).
pub(crate) fn wipe_write_perm(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    write_perm(ctx, cmd, false, "wipeTopicCount")
}

/// ADD_WRITE_PERM_OF_BROKER (327, NameServer).
pub(crate) fn add_write_perm(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    write_perm(ctx, cmd, true, "addTopicCount")
}
