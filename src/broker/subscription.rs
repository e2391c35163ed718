//! Subscription groups as the broker core enforces them (ADR 017): a
//! RocketMQ consumer group's record is found, or created with the defaults
//! while `autoCreateSubscriptionGroup` is on, and checked before a pull.
//! Kafka groups share the record's name space (deleting a group with its
//! offsets removes both ecosystems' offsets) but are not refused by it:
//! a Kafka Fetch carries no group, so `consumeEnable=false` could not be
//! enforced for Kafka consumers that assign partitions themselves.

use rokka_store::subscription_groups::SubscriptionGroupConfig;

use super::Broker;

/// Why a consumer of a group may not consume.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsumeRefusal {
    /// No record and `autoCreateSubscriptionGroup=false`.
    #[error("subscription group [{0}] does not exist")]
    NotExist(String),
    /// `consumeEnable=false`.
    #[error("subscription group no permission, {0}")]
    Disabled(String),
    /// `consumeBroadcastEnable=false` and the consumer broadcasts.
    #[error("the consumer group[{0}] can not consume by broadcast way")]
    BroadcastDisabled(String),
    /// The record could not be created.
    #[error("cannot create subscription group {group}: {reason}")]
    Store {
        /// The group.
        group: String,
        /// The store error.
        reason: String,
    },
}

impl Broker {
    /// The record of `group`, created with the defaults when it is missing
    /// and `autoCreateSubscriptionGroup` is on; `Ok(None)` when it is
    /// missing and auto-creation is off.
    pub fn subscription_group(
        &self,
        group: &str,
    ) -> Result<Option<SubscriptionGroupConfig>, ConsumeRefusal> {
        let table = self.store.subscription_groups();
        if let Some(c) = table.get(group) {
            return Ok(Some(c));
        }
        if !self.dynamic.auto_create_subscription_group() {
            return Ok(None);
        }
        let c = table
            .get_or_create(group)
            .map_err(|e| ConsumeRefusal::Store {
                group: group.to_owned(),
                reason: e.to_string(),
            })?;
        tracing::info!(group, "auto-created subscription group");
        Ok(Some(c))
    }

    /// Whether a RocketMQ consumer of `group` may pull now; `broadcasting`
    /// when its registered message model is BROADCASTING.
    pub fn check_consume(
        &self,
        group: &str,
        broadcasting: bool,
    ) -> Result<SubscriptionGroupConfig, ConsumeRefusal> {
        let c = self
            .subscription_group(group)?
            .ok_or_else(|| ConsumeRefusal::NotExist(group.to_owned()))?;
        if !c.consume_enable {
            return Err(ConsumeRefusal::Disabled(group.to_owned()));
        }
        if broadcasting && !c.consume_broadcast_enable {
            return Err(ConsumeRefusal::BroadcastDisabled(group.to_owned()));
        }
        Ok(c)
    }
}
