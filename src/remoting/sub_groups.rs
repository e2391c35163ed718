//! Subscription group admin (ADR 017): UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
//! (200), GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), DELETE_SUBSCRIPTIONGROUP
//! (207) and the 5.x GET_SUBSCRIPTIONGROUP_CONFIG (352), and the check a
//! pull makes first (`consumeEnable`, `consumeBroadcastEnable`,
//! `autoCreateSubscriptionGroup`), answered with upstream's codes and remarks.

use rokka_protocols::remoting::{RemotingCommand, ResponseCode};
use rokka_store::subscription_groups::SubscriptionGroupConfig;

use super::context::{map_store_error, Ctx, HResult, HandlerError};
use super::header::{opt, req_str};
use super::reply::{ok, ok_json};
use crate::broker::subscription::ConsumeRefusal;

const GROUP_MAX_LENGTH: usize = 120;

/// RocketMQ's group name rule (`TopicValidator.validateGroup`).
pub(crate) fn validate_group(group: &str) -> Result<(), HandlerError> {
    let bad = |r: String| Err(HandlerError::new(ResponseCode::INVALID_PARAMETER, r));
    if group.trim().is_empty() {
        return bad("The specified group is blank.".into());
    }
    if !group
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
    {
        return bad(format!(
            "The specified group: {group}, contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    if group.len() > GROUP_MAX_LENGTH {
        return bad(format!(
            "The specified group: {group}, is longer than group max length: {GROUP_MAX_LENGTH}"
        ));
    }
    Ok(())
}

/// A refusal as the pull answers it.
pub(crate) fn refusal(r: ConsumeRefusal) -> HandlerError {
    let code = match r {
        ConsumeRefusal::NotExist(_) => ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
        ConsumeRefusal::Disabled(_) | ConsumeRefusal::BroadcastDisabled(_) => {
            ResponseCode::NO_PERMISSION
        }
        ConsumeRefusal::Store { .. } => ResponseCode::SYSTEM_ERROR,
    };
    HandlerError::new(code, r.to_string())
}

/// The check PULL_MESSAGE / LITE_PULL_MESSAGE make before anything else.
pub(crate) fn check_pull(ctx: &Ctx, group: &str) -> Result<SubscriptionGroupConfig, HandlerError> {
    if ctx.broker.dynamic.broker_permission() & crate::broker::dynamic_config::PERM_READ == 0 {
        return Err(HandlerError::new(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] pulling message is forbidden",
                ctx.advertised.ip()
            ),
        ));
    }
    let broadcasting = ctx
        .clients
        .message_model(group)
        .is_some_and(|m| m.eq_ignore_ascii_case("BROADCASTING"));
    ctx.broker
        .check_consume(group, broadcasting)
        .map_err(refusal)
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200): body = SubscriptionGroupConfig
/// JSON (fields missing from the body take RocketMQ's defaults).
pub(crate) fn update_and_create(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let cfg: SubscriptionGroupConfig = serde_json::from_slice(&cmd.body).map_err(|e| {
        HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("bad SubscriptionGroupConfig body: {e}"),
        )
    })?;
    validate_group(&cfg.group_name)?;
    if !(1..=1024).contains(&cfg.retry_queue_nums) || cfg.retry_max_times < -1 {
        return Err(HandlerError::new(
            ResponseCode::INVALID_PARAMETER,
            "retryQueueNums must be within 1..=1024 and retryMaxTimes at least -1",
        ));
    }
    tracing::info!(group = %cfg.group_name, consume_enable = cfg.consume_enable, retry_max_times = cfg.retry_max_times, "subscription group updated");
    ctx.broker
        .store
        .subscription_groups()
        .put(cfg)
        .map_err(|e| map_store_error(&e))?;
    Ok(ok(cmd, &[]))
}

/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201): `{"subscriptionGroupTable":{..},
/// "forbiddenTable":{..},"dataVersion":{..}}`.
pub(crate) fn get_all(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let table = ctx.broker.store.subscription_groups().snapshot();
    let total = table.subscription_group_table.len();
    let mut r = ok_json(cmd, &table)?;
    r.cmd.ext_mut().insert("totalGroupNum", total.to_string());
    Ok(r)
}

/// GET_SUBSCRIPTIONGROUP_CONFIG (352): one group, or SUBSCRIPTION_GROUP_NOT_EXIST.
pub(crate) fn get_one(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let group = req_str(cmd, "group")?;
    match ctx.broker.store.subscription_groups().get(group) {
        Some(c) => ok_json(cmd, &c),
        None => Err(HandlerError::new(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            "No group in this broker",
        )),
    }
}

/// DELETE_SUBSCRIPTIONGROUP (207): removes the record; with `cleanOffset`
/// also the group's committed offsets, which Kafka shares (ADR 017).
pub(crate) fn delete(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let group = req_str(cmd, "groupName")?;
    ctx.broker
        .store
        .subscription_groups()
        .remove(group)
        .map_err(|e| map_store_error(&e))?;
    if opt::<bool>(cmd, "cleanOffset")?.unwrap_or(false) {
        if let Err(r) = super::offsets::commit_allowed(ctx, group, "DELETE_SUBSCRIPTIONGROUP") {
            return Err(HandlerError::new(ResponseCode::SYSTEM_ERROR, r.to_string()));
        }
        ctx.broker.store.offsets().delete(group, None);
    }
    tracing::info!(group, "subscription group deleted");
    Ok(ok(cmd, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_follow_rocketmq_rules() {
        assert!(validate_group("GID_order-1|%x").is_ok());
        for bad in ["", "  ", "a.b", "grüße", &"g".repeat(121)] {
            let e = validate_group(bad).unwrap_err();
            assert_eq!(e.code, ResponseCode::INVALID_PARAMETER, "{bad}");
        }
    }

    #[test]
    fn refusals_get_upstream_codes_and_remarks() {
        let e = refusal(ConsumeRefusal::Disabled("G".into()));
        assert_eq!(e.code, ResponseCode::NO_PERMISSION);
        assert_eq!(e.remark, "subscription group no permission, G");
        let e = refusal(ConsumeRefusal::NotExist("G".into()));
        assert_eq!(e.code, ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST);
    }
}
