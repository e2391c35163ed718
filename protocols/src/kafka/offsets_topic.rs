//! The records of Kafka's internal `__consumer_offsets` topic, as Kafka's
//! group coordinator writes them (schemas: apache/kafka
//! `group-coordinator/src/main/resources/common/message/OffsetCommitKey.json`,
//! `OffsetCommitValue.json`, `GroupMetadataKey.json`, `GroupMetadataValue.json`).
//! Every key and value starts with its schema version as an `i16`; all fields
//! use the classic (non-flexible) encodings of these versions.
//!
//! ```text
//! OffsetCommitKey    v1: group str, topic str, partition i32
//! OffsetCommitValue  v3: offset i64, leader_epoch i32, metadata str,
//!                        commit_timestamp i64                (Kafka 2.1+)
//! GroupMetadataKey   v2: group str
//! GroupMetadataValue v1: protocol_type str, generation i32, protocol nstr,
//!                        leader nstr, members [member_id str, client_id str,
//!                        client_host str, rebalance_timeout i32,
//!                        session_timeout i32, subscription bytes,
//!                        assignment bytes]                    (Kafka 0.10.1+)
//! ```
//!
//! A null value (tombstone) deletes its key. Also here: Kafka's rule for
//! which topics are internal.

use bytes::Bytes;

use super::{DecodeError, Reader, Writer};

/// Name of the offsets topic.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";
/// Name of the transaction log topic (reserved; internal in Kafka).
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

/// Key version of an offset commit (1 since Kafka 0.9).
pub const OFFSET_COMMIT_KEY_VERSION: i16 = 1;
/// Value version of an offset commit: 3 (with leader epoch), what Kafka 2.1+
/// writes when the commit has no explicit expiry.
pub const OFFSET_COMMIT_VALUE_VERSION: i16 = 3;
/// Key version of a group's metadata.
pub const GROUP_METADATA_KEY_VERSION: i16 = 2;
/// Value version of a group's metadata: 1 (with rebalance timeout), what
/// Kafka 0.10.1–2.0 writes and every reader (Burrow 1.2.1 included) decodes.
pub const GROUP_METADATA_VALUE_VERSION: i16 = 1;

/// True for Kafka's internal topics (`Topic.isInternal`).
pub fn is_internal_topic(name: &str) -> bool {
    name == OFFSETS_TOPIC || name == TRANSACTION_STATE_TOPIC
}

/// A decoded key of the offsets topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OffsetsKey {
    /// An offset commit (key version 0 or 1).
    Offset {
        /// Group id.
        group: String,
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
    },
    /// A group's metadata (key version 2).
    Group {
        /// Group id.
        group: String,
    },
}

impl OffsetsKey {
    /// The group the key belongs to.
    pub fn group(&self) -> &str {
        match self {
            OffsetsKey::Offset { group, .. } | OffsetsKey::Group { group } => group,
        }
    }

    /// Encodes the key with its current version.
    pub fn encode(&self) -> Bytes {
        let mut w = Writer::new(false);
        match self {
            OffsetsKey::Offset {
                group,
                topic,
                partition,
            } => {
                w.i16(OFFSET_COMMIT_KEY_VERSION);
                w.str(group);
                w.str(topic);
                w.i32(*partition);
            }
            OffsetsKey::Group { group } => {
                w.i16(GROUP_METADATA_KEY_VERSION);
                w.str(group);
            }
        }
        w.to_bytes()
    }

    /// Decodes a key of any version Kafka has written (0–2).
    pub fn decode(key: &Bytes) -> Result<OffsetsKey, DecodeError> {
        let mut r = Reader::new(key, 0, false);
        match r.i16("key version")? {
            0 | 1 => Ok(OffsetsKey::Offset {
                group: r.str("group")?,
                topic: r.str("topic")?,
                partition: r.i32("partition")?,
            }),
            2 => Ok(OffsetsKey::Group {
                group: r.str("group")?,
            }),
            _ => Err(DecodeError::Invalid {
                field: "key version",
            }),
        }
    }
}

/// An offset commit's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitValue {
    /// Next offset to consume.
    pub offset: i64,
    /// Leader epoch of the committed record, -1 if unknown.
    pub leader_epoch: i32,
    /// The client's commit metadata.
    pub metadata: String,
    /// When the commit was made, ms.
    pub commit_timestamp: i64,
}

impl OffsetCommitValue {
    /// Encodes as value version 3.
    pub fn encode(&self) -> Bytes {
        let mut w = Writer::new(false);
        w.i16(OFFSET_COMMIT_VALUE_VERSION);
        w.i64(self.offset);
        w.i32(self.leader_epoch);
        w.str(&self.metadata);
        w.i64(self.commit_timestamp);
        w.to_bytes()
    }

    /// Decodes value versions 0–3 (v1 carries an expiry, ignored here).
    pub fn decode(value: &Bytes) -> Result<OffsetCommitValue, DecodeError> {
        let mut r = Reader::new(value, 0, false);
        let version = r.i16("value version")?;
        if !(0..=3).contains(&version) {
            return Err(DecodeError::Invalid {
                field: "value version",
            });
        }
        let offset = r.i64("offset")?;
        let leader_epoch = if version >= 3 {
            r.i32("leader_epoch")?
        } else {
            -1
        };
        let metadata = r.str("metadata")?;
        let commit_timestamp = r.i64("commit_timestamp")?;
        if version == 1 {
            r.i64("expire_timestamp")?;
        }
        Ok(OffsetCommitValue {
            offset,
            leader_epoch,
            metadata,
            commit_timestamp,
        })
    }
}

/// One member in a group's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupMember {
    /// Member id.
    pub member_id: String,
    /// Client id.
    pub client_id: String,
    /// Client host (`/address`).
    pub client_host: String,
    /// Rebalance timeout, ms.
    pub rebalance_timeout: i32,
    /// Session timeout, ms.
    pub session_timeout: i32,
    /// The member's subscription (its metadata for the chosen protocol).
    pub subscription: Bytes,
    /// The member's assignment.
    pub assignment: Bytes,
}

/// A group's metadata value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupMetadataValue {
    /// Protocol type (`consumer` for consumer groups).
    pub protocol_type: String,
    /// Generation.
    pub generation: i32,
    /// Chosen protocol (assignor), none while empty.
    pub protocol: Option<String>,
    /// Leader member id, none while empty.
    pub leader: Option<String>,
    /// Members.
    pub members: Vec<GroupMember>,
}

impl GroupMetadataValue {
    /// Encodes as value version 1.
    pub fn encode(&self) -> Bytes {
        let mut w = Writer::new(false);
        w.i16(GROUP_METADATA_VALUE_VERSION);
        w.str(&self.protocol_type);
        w.i32(self.generation);
        w.nstr(self.protocol.as_deref());
        w.nstr(self.leader.as_deref());
        w.array(&self.members, |w, m| {
            w.str(&m.member_id);
            w.str(&m.client_id);
            w.str(&m.client_host);
            w.i32(m.rebalance_timeout);
            w.i32(m.session_timeout);
            w.bytes(&m.subscription);
            w.bytes(&m.assignment);
        });
        w.to_bytes()
    }

    /// Decodes value versions 0–3 (v2+ fields past the members' common
    /// ones are skipped).
    pub fn decode(value: &Bytes) -> Result<GroupMetadataValue, DecodeError> {
        let mut r = Reader::new(value, 0, false);
        let version = r.i16("value version")?;
        if !(0..=3).contains(&version) {
            return Err(DecodeError::Invalid {
                field: "value version",
            });
        }
        let protocol_type = r.str("protocol_type")?;
        let generation = r.i32("generation")?;
        let protocol = r.nstr("protocol")?;
        let leader = r.nstr("leader")?;
        if version >= 2 {
            r.i64("current_state_timestamp")?;
        }
        let members = r.array("members", |r| {
            let member_id = r.str("member_id")?;
            if version >= 3 {
                r.nstr("group_instance_id")?;
            }
            let client_id = r.str("client_id")?;
            let client_host = r.str("client_host")?;
            let rebalance_timeout = if version >= 1 {
                r.i32("rebalance_timeout")?
            } else {
                0
            };
            Ok(GroupMember {
                member_id,
                client_id,
                client_host,
                rebalance_timeout,
                session_timeout: r.i32("session_timeout")?,
                subscription: r.bytes("subscription")?,
                assignment: r.bytes("assignment")?,
            })
        })?;
        Ok(GroupMetadataValue {
            protocol_type,
            generation,
            protocol,
            leader,
            members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_commit_round_trip_and_layout() {
        let key = OffsetsKey::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 3,
        };
        let k = key.encode();
        assert_eq!(&k[..], &[0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 3]);
        assert_eq!(OffsetsKey::decode(&k).ok(), Some(key));
        let v = OffsetCommitValue {
            offset: 500,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp: 1_700_000_000_000,
        };
        let b = v.encode();
        assert_eq!(b.len(), 2 + 8 + 4 + 2 + 8);
        assert_eq!(&b[..2], &[0, 3]);
        assert_eq!(OffsetCommitValue::decode(&b).ok(), Some(v));
    }

    #[test]
    fn group_metadata_round_trip() {
        let key = OffsetsKey::Group { group: "g".into() };
        assert_eq!(OffsetsKey::decode(&key.encode()).ok(), Some(key));
        let v = GroupMetadataValue {
            protocol_type: "consumer".into(),
            generation: 4,
            protocol: Some("range".into()),
            leader: Some("m-1".into()),
            members: vec![GroupMember {
                member_id: "m-1".into(),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout: 300_000,
                session_timeout: 10_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        assert_eq!(GroupMetadataValue::decode(&v.encode()).ok(), Some(v));
        let empty = GroupMetadataValue {
            protocol_type: "consumer".into(),
            generation: 5,
            ..GroupMetadataValue::default()
        };
        assert_eq!(
            GroupMetadataValue::decode(&empty.encode()).ok(),
            Some(empty)
        );
    }

    #[test]
    fn truncated_and_unknown_versions_are_errors() {
        assert!(OffsetsKey::decode(&Bytes::from_static(&[0, 9, 0, 0])).is_err());
        assert!(OffsetsKey::decode(&Bytes::from_static(&[0, 1, 0, 5, b'g'])).is_err());
        assert!(OffsetCommitValue::decode(&Bytes::from_static(&[0, 3, 0])).is_err());
        assert!(GroupMetadataValue::decode(&Bytes::from_static(&[0, 7])).is_err());
    }

    #[test]
    fn names() {
        assert!(is_internal_topic("__consumer_offsets"));
        assert!(is_internal_topic("__transaction_state"));
        assert!(!is_internal_topic("__other"));
    }
}
