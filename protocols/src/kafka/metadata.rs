//! Metadata (key 3), versions 0–12 (v9+ flexible).
//!
//! ```text
//! request  topics [topic_id uuid (v10+), name str (nstr v10+), tags] (v0: empty = all;
//!          v1+: nullable, null = all), allow_auto_topic_creation bool (v4+),
//!          include_cluster_authorized_operations bool (v8-10),
//!          include_topic_authorized_operations bool (v8+), tags
//! response throttle_time_ms i32 (v3+),
//!          brokers [node_id i32, host str, port i32, rack nstr (v1+), tags],
//!          cluster_id nstr (v2+), controller_id i32 (v1+),
//!          topics [error_code i16, name str (nstr v12+), topic_id uuid (v10+),
//!                  is_internal bool (v1+),
//!                  partitions [error_code i16, partition_index i32, leader_id i32,
//!                              leader_epoch i32 (v7+), replica_nodes [i32], isr_nodes [i32],
//!                              offline_replicas [i32] (v5+), tags],
//!                  topic_authorized_operations i32 (v8+), tags],
//!          cluster_authorized_operations i32 (v8-10), tags
//! ```

use super::{DecodeError, Reader, Writer};

/// A topic asked for: by name, or (v12) by id with a null name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataRequestTopic {
    /// Topic id (v10+; zero when asking by name).
    pub topic_id: [u8; 16],
    /// Topic name (null when asking by id).
    pub name: Option<String>,
}

/// A Metadata request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataRequest {
    /// Topics asked for; `None` = all.
    pub topics: Option<Vec<MetadataRequestTopic>>,
    /// Whether missing topics may be auto-created.
    pub allow_auto_topic_creation: bool,
}

impl MetadataRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let topics = r.narray("topics", |r| {
            let topic_id = if version >= 10 {
                r.uuid("topic_id")?
            } else {
                [0; 16]
            };
            let name = if version >= 10 {
                r.nstr("name")?
            } else {
                Some(r.str("name")?)
            };
            r.tags()?;
            Ok(MetadataRequestTopic { topic_id, name })
        })?;
        // v0 has no null: an empty list means every topic.
        let topics = if version == 0 && topics.as_ref().is_some_and(Vec::is_empty) {
            None
        } else {
            topics
        };
        let allow_auto_topic_creation = if version >= 4 {
            r.bool("allow_auto_topic_creation")?
        } else {
            true
        };
        if (8..=10).contains(&version) {
            r.bool("include_cluster_authorized_operations")?;
        }
        if version >= 8 {
            r.bool("include_topic_authorized_operations")?;
        }
        r.tags()?;
        Ok(MetadataRequest {
            topics,
            allow_auto_topic_creation,
        })
    }
}

/// A broker in the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataBroker {
    /// Node id.
    pub node_id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
}

/// A partition in the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataPartition {
    /// Error code.
    pub error_code: i16,
    /// Partition index.
    pub partition_index: i32,
    /// Leader node id.
    pub leader_id: i32,
    /// Leader epoch.
    pub leader_epoch: i32,
    /// Nodes holding a replica (the leader included).
    pub replica_nodes: Vec<i32>,
    /// The in-sync replicas.
    pub isr_nodes: Vec<i32>,
    /// Replicas that are down (v5+).
    pub offline_replicas: Vec<i32>,
}

/// A topic in the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataTopic {
    /// Error code.
    pub error_code: i16,
    /// Topic name (null only for an unknown id in v12).
    pub name: Option<String>,
    /// Topic id (v10+).
    pub topic_id: [u8; 16],
    /// Partitions.
    pub partitions: Vec<MetadataPartition>,
}

/// A Metadata response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataResponse {
    /// Brokers (just this one).
    pub brokers: Vec<MetadataBroker>,
    /// Cluster id.
    pub cluster_id: String,
    /// Controller node id.
    pub controller_id: i32,
    /// Topics.
    pub topics: Vec<MetadataTopic>,
}

impl MetadataResponse {
    /// Encodes the body for `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 3 {
            w.i32(0);
        }
        w.array(&self.brokers, |w, b| {
            w.i32(b.node_id);
            w.str(&b.host);
            w.i32(b.port);
            if version >= 1 {
                w.nstr(None);
            }
            w.tags();
        });
        if version >= 2 {
            w.nstr(Some(&self.cluster_id));
        }
        if version >= 1 {
            w.i32(self.controller_id);
        }
        w.array(&self.topics, |w, t| {
            w.i16(t.error_code);
            if version >= 12 {
                w.nstr(t.name.as_deref());
            } else {
                w.str(t.name.as_deref().unwrap_or(""));
            }
            if version >= 10 {
                w.raw(&t.topic_id);
            }
            if version >= 1 {
                let name = t.name.as_deref().unwrap_or("");
                w.bool(super::offsets_topic::is_internal_topic(name));
            }
            w.array(&t.partitions, |w, p| {
                w.i16(p.error_code);
                w.i32(p.partition_index);
                w.i32(p.leader_id);
                if version >= 7 {
                    w.i32(p.leader_epoch);
                }
                w.array(&p.replica_nodes, |w, n| w.i32(*n));
                w.array(&p.isr_nodes, |w, n| w.i32(*n));
                if version >= 5 {
                    w.array(&p.offline_replicas, |w, n| w.i32(*n));
                }
                w.tags();
            });
            if version >= 8 {
                w.i32(i32::MIN);
            }
            w.tags();
        });
        if (8..=10).contains(&version) {
            w.i32(i32::MIN);
        }
        w.tags();
    }
}

impl MetadataRequest {
    /// Encodes the body of `version` (the inverse of [`Self::decode`]).
    /// `None` is an empty list in v0; a null name is "" before v10.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        match &self.topics {
            None if version == 0 => w.array_len(Some(0)),
            None => w.array_len(None),
            Some(topics) => w.array(topics, |w, t| {
                if version >= 10 {
                    w.raw(&t.topic_id);
                    w.nstr(t.name.as_deref());
                } else {
                    w.str(t.name.as_deref().unwrap_or(""));
                }
                w.tags();
            }),
        }
        if version >= 4 {
            w.bool(self.allow_auto_topic_creation);
        }
        if (8..=10).contains(&version) {
            w.bool(false);
        }
        if version >= 8 {
            w.bool(false);
        }
        w.tags();
    }
}

impl MetadataResponse {
    /// Decodes the body of `version` (the inverse of [`Self::encode`]).
    /// Fields a version lacks take the schema defaults: `cluster_id` "",
    /// `controller_id` -1, `topic_id` zero, `leader_epoch` -1.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        if version >= 3 {
            r.i32("throttle_time_ms")?;
        }
        let brokers = r.array("brokers", |r| {
            let b = MetadataBroker {
                node_id: r.i32("node_id")?,
                host: r.str("host")?,
                port: r.i32("port")?,
            };
            if version >= 1 {
                r.nstr("rack")?;
            }
            r.tags()?;
            Ok(b)
        })?;
        let cluster_id = if version >= 2 {
            r.str("cluster_id")?
        } else {
            String::new()
        };
        let controller_id = if version >= 1 {
            r.i32("controller_id")?
        } else {
            -1
        };
        let topics = r.array("topics", |r| {
            let error_code = r.i16("error_code")?;
            let name = if version >= 12 {
                r.nstr("name")?
            } else {
                Some(r.str("name")?)
            };
            let topic_id = if version >= 10 {
                r.uuid("topic_id")?
            } else {
                [0; 16]
            };
            if version >= 1 {
                r.bool("is_internal")?;
            }
            let partitions = r.array("partitions", |r| {
                let error_code = r.i16("error_code")?;
                let partition_index = r.i32("partition_index")?;
                let leader_id = r.i32("leader_id")?;
                let leader_epoch = if version >= 7 {
                    r.i32("leader_epoch")?
                } else {
                    -1
                };
                let replica_nodes = r.array("replica_nodes", |r| r.i32("replica"))?;
                let isr_nodes = r.array("isr_nodes", |r| r.i32("isr"))?;
                let offline_replicas = if version >= 5 {
                    r.array("offline_replicas", |r| r.i32("offline"))?
                } else {
                    Vec::new()
                };
                r.tags()?;
                Ok(MetadataPartition {
                    error_code,
                    partition_index,
                    leader_id,
                    leader_epoch,
                    replica_nodes,
                    isr_nodes,
                    offline_replicas,
                })
            })?;
            if version >= 8 {
                r.i32("topic_authorized_operations")?;
            }
            r.tags()?;
            Ok(MetadataTopic {
                error_code,
                name,
                topic_id,
                partitions,
            })
        })?;
        if (8..=10).contains(&version) {
            r.i32("cluster_authorized_operations")?;
        }
        r.tags()?;
        Ok(MetadataResponse {
            brokers,
            cluster_id,
            controller_id,
            topics,
        })
    }
}
