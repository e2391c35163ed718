//! The ACL configuration codes as `mqadmin updateAclConfig`,
//! `deleteAclConfig`, `updateGlobalWhiteAddr`, `clusterAclConfigVersion` and
//! `getAclConfig` send them: UPDATE_AND_CREATE_ACL_CONFIG (50),
//! DELETE_ACL_CONFIG (51), GET_BROKER_CLUSTER_ACL_INFO (52),
//! UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53), GET_BROKER_CLUSTER_ACL_CONFIG (54).
//! Changes are written to `plain_acl.yml`. Failures answer upstream's codes
//! (209, 210, 211) and remarks; with `aclEnable` off every code fails with a
//! remark saying so (upstream fails with an empty one).

use rokka_protocols::remoting::{RemotingCommand, ResponseCode};
use serde::Serialize;

use super::context::{Ctx, HResult, HandlerError};
use super::reply::{ok, ok_json};
use crate::security::plain_acl::{AccountConfig, DataVersion, PlainAcl};

const DISABLED: &str = "RocketMQ ACL is not enabled on this broker (aclEnable=false)";

fn enabled(ctx: &Ctx, failure: ResponseCode) -> Result<&PlainAcl, HandlerError> {
    ctx.broker
        .security
        .plain_acl
        .as_ref()
        .ok_or_else(|| HandlerError::new(failure, DISABLED))
}

/// `UtilAll.split`: absent stays absent, blank is empty, else split on `,`.
fn split(v: Option<&str>) -> Option<Vec<String>> {
    v.map(|s| {
        if s.trim().is_empty() {
            Vec::new()
        } else {
            s.split(',').map(str::to_string).collect()
        }
    })
}

/// The account as mqadmin sends it: header fields.
fn header_account(req: &RemotingCommand) -> AccountConfig {
    let s = |k: &str| req.ext(k).map(str::to_string);
    AccountConfig {
        access_key: s("accessKey").unwrap_or_default(),
        secret_key: s("secretKey"),
        white_remote_address: s("whiteRemoteAddress"),
        admin: req
            .ext("admin")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        default_topic_perm: s("defaultTopicPerm"),
        default_group_perm: s("defaultGroupPerm"),
        topic_perms: split(req.ext("topicPerms")),
        group_perms: split(req.ext("groupPerms")),
    }
}

/// UPDATE_AND_CREATE_ACL_CONFIG (50).
pub(crate) fn update(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let failed = ResponseCode::UPDATE_AND_CREATE_ACL_CONFIG_FAILED;
    let acl = enabled(ctx, failed)?;
    // rocketmq-client-rust sends the account as a JSON body instead.
    let from_body = || serde_json::from_slice::<AccountConfig>(&req.body).ok();
    let account = match req.ext("accessKey") {
        None => from_body().ok_or_else(|| {
            HandlerError::new(failed, "neither an accessKey field nor an account body")
        })?,
        Some(_) => header_account(req),
    };
    let ak = account.access_key.clone();
    acl.update_account(account)
        .map_err(|e| HandlerError::new(failed, e))?;
    tracing::info!(access_key = %ak, "ACL account created or updated");
    Ok(ok(req, &[]))
}

/// DELETE_ACL_CONFIG (51).
pub(crate) fn delete(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let failed = ResponseCode::DELETE_ACL_CONFIG_FAILED;
    let acl = enabled(ctx, failed)?;
    // rocketmq-client-rust sends the access key as the body.
    let body_key = String::from_utf8_lossy(&req.body);
    let ak = req.ext("accessKey").unwrap_or(&body_key);
    match acl.delete_account(ak) {
        Ok(true) => {
            tracing::info!(access_key = %ak, "ACL account deleted");
            Ok(ok(req, &[]))
        }
        Ok(false) => Err(HandlerError::new(
            failed,
            format!("The accesskey[{ak}] corresponding to accessConfig has been deleted failed."),
        )),
        Err(e) => Err(HandlerError::new(failed, e)),
    }
}

/// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53); `aclFileFullPath` is ignored
/// (rokka has one ACL file).
pub(crate) fn update_global_white(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let failed = ResponseCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED;
    let acl = enabled(ctx, failed)?;
    let Some(list) = split(req.ext("globalWhiteAddrs")) else {
        return Err(HandlerError::new(
            failed,
            "The globalWhiteAddresses[null] has been updated failed.",
        ));
    };
    acl.set_global_white_list(list)
        .map_err(|e| HandlerError::new(failed, e))?;
    Ok(ok(req, &[]))
}

/// Upstream's `DataVersion` JSON (fastjson orders the fields by name).
fn version_json(v: DataVersion) -> String {
    format!(
        r#"{{"counter":{},"stateVersion":0,"timestamp":{}}}"#,
        v.counter, v.timestamp
    )
}

/// GET_BROKER_CLUSTER_ACL_INFO (52): the file's version in the header.
pub(crate) fn info(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let acl = enabled(ctx, ResponseCode::SYSTEM_ERROR)?;
    let version = version_json(acl.version());
    let all = serde_json::json!({ acl.path().display().to_string(): serde_json::from_str::<serde_json::Value>(&version).unwrap_or_default() });
    let c = &ctx.broker.config;
    Ok(ok(
        req,
        &[
            ("version", version),
            ("allAclFileVersion", all.to_string()),
            ("brokerName", c.broker_name.clone()),
            ("brokerAddr", ctx.advertised.to_string()),
            ("clusterName", c.broker_cluster_name.clone()),
        ],
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClusterAclConfig {
    global_white_addrs: Vec<String>,
    plain_access_configs: Vec<AccountConfig>,
}

/// GET_BROKER_CLUSTER_ACL_CONFIG (54): the accounts (with their secret
/// keys: admin accounts only) and the global white list.
pub(crate) fn config(ctx: &Ctx, req: &RemotingCommand) -> HResult {
    let acl = enabled(ctx, ResponseCode::SYSTEM_ERROR)?;
    let file = acl.config();
    ok_json(
        req,
        &ClusterAclConfig {
            global_white_addrs: file.global_white_remote_addresses.unwrap_or_default(),
            plain_access_configs: file.accounts.unwrap_or_default(),
        },
    )
}
