//! The one table of config-file keys: each key's name and how its value is
//! checked and applied to the settings being resolved (`config.rs`). A key
//! that is not listed here is refused with its file and line.
//!
//! Three vocabularies are understood:
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `brokerName`, `brokerClusterName` | names registered with the NameServer | `broker-a`, `DefaultCluster` |
//! | `brokerId` | 0 = master | 0 |
//! | `brokerRole` | `ASYNC_MASTER` or `SYNC_MASTER`: the ack policy while this node is master (`SLAVE` is refused: in cluster mode the controller assigns roles) | `ASYNC_MASTER` |
//! | `listenPort` | RocketMQ broker port; with `brokerIP1` the stored `storeHost` | 10911 |
//! | `brokerIP1` | address RocketMQ clients reach this broker at | bind address, else the host's outward IP |
//! | `namesrvAddr` | `host:port;host:port` NameServers to register with | embedded only |
//! | `storePathRootDir` | data directory (store root) | `./data` |
//! | `storePathCommitLog` | CommitLog directory | `<data>/commitlog` |
//! | `flushDiskType` | `ASYNC_FLUSH` or `SYNC_FLUSH` | `ASYNC_FLUSH` |
//! | `flushIntervalCommitLog` | background flush period, ms | 500 |
//! | `log.cleaner.backoff.ms` | period of the log cleaner of compacted topics, ms (ADR 010) | 15000 |
//! | `autoCreateTopicEnable` | create topics on first use | true |
//! | `enablePropertyFilter` | accept SQL92 subscriptions (`MessageSelector.bySql`) and filter pulls by them | false |
//! | `defaultTopicQueueNums` | queues of an auto-created topic (RocketMQ clients ask for 4) | 4 |
//! | `autoCreateSubscriptionGroup` | a consumer group gets its subscription group record on first pull or heartbeat; false: unknown groups are refused (SUBSCRIPTION_GROUP_NOT_EXIST) | true |
//! | `fileReservedTime` | hours a CommitLog segment is kept | 72 |
//! | `deleteWhen` | hours of day expired segments are deleted, `04` or `04;16` | `04` |
//! | `diskMaxUsedSpaceRatio` | percent of disk used above which expired segments go at any hour | 75 |
//! | `mapedFileSizeCommitLog` (or `mappedFileSizeCommitLog`) | CommitLog segment bytes | 1 GiB |
//! | `mapedFileSizeConsumeQueue` (or `mapped…`) | ConsumeQueue file bytes, a multiple of 20 | 6 000 000 |
//! | `maxHashSlotNum`, `maxIndexNum` | IndexFile slots and entries | 5 000 000, 20 000 000 |
//! | `maxMessageSize` | largest message or batch, bytes | 4 MiB |
//! | `transactionTimeOut` | ms a half message waits before its first back-check | 6000 |
//! | `transactionCheckInterval` | ms between back-check passes | 60000 |
//! | `transactionCheckMax` | back-checks before a half message is discarded | 15 |
//! | `timerWheelEnable` | accept timer messages (`TIMER_DELIVER_MS`/`TIMER_DELAY_SEC`/`TIMER_DELAY_MS`); false refuses them | true |
//! | `timerMaxDelaySec` | farthest timer accepted, seconds ahead | 259200 |
//! | `timerPrecisionMs` | timer due times rounded down to this (upstream default 1000) | 1 |
//! | `rokka.timerMaxPending` | pending timers above which timer sends are refused (flow control) | 5000000 |
//! | `auto.create.topics.enable` | Kafka name of `autoCreateTopicEnable` | |
//! | `num.partitions` | Kafka name of `defaultTopicQueueNums` | |
//! | `offsets.topic.num.partitions` | partitions of `__consumer_offsets` when first created | 50 |
//! | `transaction.max.timeout.ms` | largest Kafka `transaction.timeout.ms` accepted | 900000 |
//! | `transaction.abort.timed.out.transaction.cleanup.interval.ms` | ms between passes aborting expired Kafka transactions | 10000 |
//! | `log.retention.hours` | Kafka name of `fileReservedTime` (-1 = forever) | |
//! | `log.segment.bytes` | Kafka name of `mapedFileSizeCommitLog` | |
//! | `log.dirs` (or `log.dir`) | Kafka name of the data directory (one directory) | |
//! | `message.max.bytes` | Kafka name of `maxMessageSize` | |
//! | `queued.max.request.bytes` | Kafka name of `rokka.maxPendingAppendBytes` (-1 = the default) | |
//! | `log.retention.check.interval.ms` | ms between per-topic Kafka retention passes (`retention.ms`/`retention.bytes` overrides) | 300000 |
//! | `listeners` | `NAME://[host]:port,...`: Kafka listeners; the first is the primary (security keys: `config/security.rs`) | `PLAINTEXT://:9092` |
//! | `advertised.listeners` | `NAME://host:port,...` given to Kafka clients of each listener | the bind address |
//! | `rokka.dataDir` | data directory (same as `storePathRootDir`) | `./data` |
//! | `rokka.bindAddress` | IP every listener binds to | `0.0.0.0` |
//! | `rokka.httpPort`, `rokka.kafkaPort`, `rokka.namesrvPort` | listener ports | 8080, 9092, 9876 |
//! | `grpcServerPort` | gRPC port of the 5.x SDKs (the proxy's key) | 8081 |
//! | `rokka.diskCleanForciblyRatio` (or `diskSpaceCleanForciblyRatio`) | percent used above which unexpired segments are deleted; must exceed `rokka.diskRefuseRatio` | 95 |
//! | `cleanFileForciblyEnable` | whether unexpired segments are ever deleted under disk pressure | true |
//! | `rokka.diskRefuseRatio` | percent used (of the fullest store directory's file system) at which appends are refused | 90 |
//! | `connections.max.idle.ms` | Kafka listener: ms without a request before a connection is closed | 600000 |
//! | `max.connections` | Kafka listener: connections open at once; more are closed on accept | 4096 |
//! | `max.connections.per.ip` | Kafka listener: connections open at once from one address | unlimited |
//! | `serverChannelMaxIdleTimeSeconds` | RocketMQ listeners: seconds without a request before a connection is closed | 120 |
//! | `rokka.remotingMaxConnections` | each RocketMQ listener (broker, VIP, NameServer): connections open at once | 10000 |
//! | `rokka.remotingMaxConnectionsPerIp` | each RocketMQ listener: connections open at once from one address | unlimited |
//! | `rokka.frameReadTimeoutMs` | every listener: ms from a frame's first byte until it must be complete | 30000 |
//! | `rokka.rejectedLogsPerSecond` | WARN lines per second about refused frames and connections (the rest are counted) | 10 |
//! | `rokka.maxPendingAppendBytes` | bytes of appends in flight before producers wait (backpressure) | 256 MiB |
//! | `rokka.compatMetrics` | also publish kafka_exporter / RocketMQ exporter metric families | true |
//! | `rokka.logLevel` | log filter (EnvFilter syntax) | `info` |
//! | `rokka.logFormat` | log line format: `text` or `json` | `text` |
//!
//! Cluster keys (`node.id`, `controller.quorum.voters`, `haListenPort`,
//! `min.insync.replicas`, ...) are listed in `cluster_keys.rs`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use rokka_store::FlushDiskType;

use super::{BrokerRole, Draft};

/// One config-file key.
pub(super) struct Key {
    /// The key as written in the file (case-sensitive, as in Java).
    pub name: &'static str,
    /// Checks the value and stores it; the error says why it was refused.
    pub apply: fn(&mut Draft, &str) -> Result<(), String>,
}

/// Every key rokka understands.
static KEYS: &[Key] = &[
    // RocketMQ broker.conf
    Key {
        name: "brokerName",
        apply: |d, v| set(&mut d.broker_name, name(v)),
    },
    Key {
        name: "brokerClusterName",
        apply: |d, v| set(&mut d.broker_cluster_name, name(v)),
    },
    Key {
        name: "brokerId",
        apply: |d, v| set(&mut d.broker_id, int(v, 0, i64::MAX as u64)),
    },
    Key {
        name: "brokerRole",
        apply: |d, v| {
            d.broker_role = match v.to_ascii_uppercase().as_str() {
                "ASYNC_MASTER" => BrokerRole::AsyncMaster,
                "SYNC_MASTER" => BrokerRole::SyncMaster,
                "SLAVE" => {
                    return Err("SLAVE is not a configured role in rokka: in cluster mode \
                                (controller.quorum.voters) the controller elects the master \
                                and the other members follow it"
                        .to_string())
                }
                _ => return Err("expected ASYNC_MASTER or SYNC_MASTER".to_string()),
            };
            Ok(())
        },
    },
    Key {
        name: "listenPort",
        apply: |d, v| set(&mut d.listen_port, port(v)),
    },
    Key {
        name: "brokerIP1",
        apply: |d, v| set(&mut d.broker_ip, ip(v).map(Some)),
    },
    Key {
        name: "namesrvAddr",
        apply: |d, v| set(&mut d.namesrv_addr, namesrv_list(v)),
    },
    Key {
        name: "storePathRootDir",
        apply: |d, v| set(&mut d.data_dir, path(v)),
    },
    Key {
        name: "storePathCommitLog",
        apply: |d, v| set(&mut d.commit_log_dir, path(v).map(Some)),
    },
    Key {
        name: "flushDiskType",
        apply: |d, v| {
            d.store.flush_disk_type = match v.to_ascii_uppercase().as_str() {
                "ASYNC_FLUSH" => FlushDiskType::AsyncFlush,
                "SYNC_FLUSH" => FlushDiskType::SyncFlush,
                _ => return Err("expected ASYNC_FLUSH or SYNC_FLUSH".to_string()),
            };
            Ok(())
        },
    },
    Key {
        name: "flushIntervalCommitLog",
        apply: |d, v| {
            set(
                &mut d.store.flush_interval,
                int(v, 1, 3_600_000).map(Duration::from_millis),
            )
        },
    },
    Key {
        name: "log.cleaner.backoff.ms",
        apply: |d, v| {
            set(
                &mut d.store.compaction_interval,
                int(v, 1, 86_400_000).map(Duration::from_millis),
            )
        },
    },
    Key {
        name: "transactionTimeOut",
        apply: |d, v| set(&mut d.transaction_check.timeout, millis(v)),
    },
    Key {
        name: "transactionCheckInterval",
        apply: |d, v| set(&mut d.transaction_check.interval, millis(v)),
    },
    Key {
        name: "log.retention.check.interval.ms",
        apply: |d, v| set(&mut d.retention_check_interval, millis(v)),
    },
    Key {
        name: "transactionCheckMax",
        apply: |d, v| set(&mut d.transaction_check.max, int(v, 1, 10_000)),
    },
    Key {
        name: "timerWheelEnable",
        apply: |d, v| set(&mut d.timer.enable, boolean(v)),
    },
    Key {
        name: "timerMaxDelaySec",
        apply: |d, v| set(&mut d.timer.max_delay_sec, int(v, 1, 100 * 365 * 86_400)),
    },
    Key {
        name: "timerPrecisionMs",
        apply: |d, v| set(&mut d.timer.precision_ms, int(v, 1, 3_600_000)),
    },
    Key {
        name: "rokka.timerMaxPending",
        apply: |d, v| set(&mut d.timer.max_pending, int(v, 1, u32::MAX as u64)),
    },
    Key {
        name: "autoCreateTopicEnable",
        apply: |d, v| set(&mut d.auto_create_topic_enable, boolean(v)),
    },
    Key {
        name: "enablePropertyFilter",
        apply: |d, v| set(&mut d.enable_property_filter, boolean(v)),
    },
    Key {
        name: "autoCreateSubscriptionGroup",
        apply: |d, v| set(&mut d.auto_create_subscription_group, boolean(v)),
    },
    Key {
        name: "defaultTopicQueueNums",
        apply: |d, v| set(&mut d.default_topic_queue_nums, int(v, 1, i32::MAX as u64)),
    },
    Key {
        name: "fileReservedTime",
        apply: |d, v| set(&mut d.store.file_reserved_hours, int(v, 1, u32::MAX as u64)),
    },
    Key {
        name: "deleteWhen",
        apply: |d, v| set(&mut d.store.delete_when, delete_when(v)),
    },
    Key {
        name: "diskMaxUsedSpaceRatio",
        apply: |d, v| set(&mut d.store.disk_max_used_space_ratio, percent(v)),
    },
    Key {
        name: "mapedFileSizeCommitLog",
        apply: |d, v| set(&mut d.store.commit_log_segment_size, segment_size(v)),
    },
    Key {
        name: "mappedFileSizeCommitLog",
        apply: |d, v| set(&mut d.store.commit_log_segment_size, segment_size(v)),
    },
    Key {
        name: "mapedFileSizeConsumeQueue",
        apply: |d, v| {
            set(
                &mut d.store.consume_queue_entries_per_file,
                consume_queue_entries(v),
            )
        },
    },
    Key {
        name: "mappedFileSizeConsumeQueue",
        apply: |d, v| {
            set(
                &mut d.store.consume_queue_entries_per_file,
                consume_queue_entries(v),
            )
        },
    },
    Key {
        name: "maxHashSlotNum",
        apply: |d, v| set(&mut d.store.index_hash_slots, int(v, 1, u32::MAX as u64)),
    },
    Key {
        name: "maxIndexNum",
        apply: |d, v| set(&mut d.store.index_max_entries, int(v, 2, u32::MAX as u64)),
    },
    Key {
        name: "maxMessageSize",
        apply: |d, v| set(&mut d.store.max_message_size, message_size(v)),
    },
    // Kafka server.properties
    Key {
        name: "auto.create.topics.enable",
        apply: |d, v| set(&mut d.auto_create_topic_enable, boolean(v)),
    },
    Key {
        name: "num.partitions",
        apply: |d, v| set(&mut d.default_topic_queue_nums, int(v, 1, i32::MAX as u64)),
    },
    Key {
        name: "offsets.topic.num.partitions",
        apply: |d, v| set(&mut d.offsets_topic_partitions, int(v, 1, 1024)),
    },
    Key {
        name: "transaction.max.timeout.ms",
        apply: |d, v| {
            set(
                &mut d.transaction_max_timeout_ms,
                int(v, 1, i32::MAX as u64),
            )
        },
    },
    Key {
        name: "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        apply: |d, v| set(&mut d.transaction_abort_interval, millis(v)),
    },
    Key {
        name: "log.retention.hours",
        apply: |d, v| {
            d.store.file_reserved_hours = if v == "-1" {
                u32::MAX
            } else {
                int(v, 1, u32::MAX as u64)?
            };
            Ok(())
        },
    },
    Key {
        name: "log.segment.bytes",
        apply: |d, v| set(&mut d.store.commit_log_segment_size, segment_size(v)),
    },
    Key {
        name: "log.dirs",
        apply: |d, v| set(&mut d.data_dir, single_dir(v)),
    },
    Key {
        name: "log.dir",
        apply: |d, v| set(&mut d.data_dir, single_dir(v)),
    },
    Key {
        name: "message.max.bytes",
        apply: |d, v| set(&mut d.store.max_message_size, message_size(v)),
    },
    Key {
        name: "listeners",
        apply: |d, v| {
            let (host, port) = super::security::listeners(&mut d.security, v)?;
            d.kafka_host = host;
            d.kafka_port = port;
            Ok(())
        },
    },
    Key {
        name: "advertised.listeners",
        apply: |d, v| {
            let primary = super::security::advertised(&mut d.security, v)?;
            d.kafka_advertised = Some(primary);
            Ok(())
        },
    },
    // rokka's own
    Key {
        name: "rokka.dataDir",
        apply: |d, v| set(&mut d.data_dir, path(v)),
    },
    Key {
        name: "rokka.bindAddress",
        apply: |d, v| set(&mut d.bind_address, ip(v)),
    },
    Key {
        name: "rokka.compatMetrics",
        apply: |d, v| set(&mut d.compat_metrics, boolean(v)),
    },
    Key {
        name: "grpcServerPort",
        apply: |d, v| set(&mut d.grpc_port, port(v)),
    },
    Key {
        name: "rokka.httpPort",
        apply: |d, v| set(&mut d.http_port, port(v)),
    },
    Key {
        name: "rokka.kafkaPort",
        apply: |d, v| set(&mut d.kafka_port, port(v)),
    },
    Key {
        name: "rokka.namesrvPort",
        apply: |d, v| set(&mut d.namesrv_port, port(v)),
    },
    Key {
        name: "rokka.diskCleanForciblyRatio",
        apply: |d, v| set(&mut d.store.disk_clean_forcibly_ratio, percent(v)),
    },
    Key {
        name: "diskSpaceCleanForciblyRatio",
        apply: |d, v| set(&mut d.store.disk_clean_forcibly_ratio, percent(v)),
    },
    Key {
        name: "cleanFileForciblyEnable",
        apply: |d, v| set(&mut d.store.disk_clean_forcibly_enable, boolean(v)),
    },
    Key {
        name: "queued.max.request.bytes",
        apply: |d, v| {
            if v.trim() == "-1" {
                return Ok(());
            }
            set(&mut d.store.max_pending_append_bytes, message_size(v))
        },
    },
    Key {
        name: "rokka.maxPendingAppendBytes",
        apply: |d, v| set(&mut d.store.max_pending_append_bytes, message_size(v)),
    },
    Key {
        name: "rokka.diskRefuseRatio",
        apply: |d, v| set(&mut d.store.disk_refuse_ratio, percent(v)),
    },
    Key {
        name: "connections.max.idle.ms",
        apply: |d, v| set(&mut d.net.kafka.idle, millis(v)),
    },
    Key {
        name: "max.connections",
        apply: |d, v| set(&mut d.net.kafka.max_connections, int(v, 1, i32::MAX as u64)),
    },
    Key {
        name: "max.connections.per.ip",
        apply: |d, v| {
            set(
                &mut d.net.kafka.max_connections_per_ip,
                int(v, 1, i32::MAX as u64),
            )
        },
    },
    Key {
        name: "serverChannelMaxIdleTimeSeconds",
        apply: |d, v| {
            set(
                &mut d.net.remoting.idle,
                int(v, 1, 86_400).map(Duration::from_secs),
            )
        },
    },
    Key {
        name: "rokka.remotingMaxConnections",
        apply: |d, v| {
            set(
                &mut d.net.remoting.max_connections,
                int(v, 1, i32::MAX as u64),
            )
        },
    },
    Key {
        name: "rokka.remotingMaxConnectionsPerIp",
        apply: |d, v| {
            set(
                &mut d.net.remoting.max_connections_per_ip,
                int(v, 1, i32::MAX as u64),
            )
        },
    },
    Key {
        name: "rokka.frameReadTimeoutMs",
        apply: |d, v| {
            let t = millis(v)?;
            d.net.kafka.frame_read = t;
            d.net.remoting.frame_read = t;
            Ok(())
        },
    },
    Key {
        name: "rokka.rejectedLogsPerSecond",
        apply: |d, v| set(&mut d.net.rejected_logs_per_second, int(v, 0, 1_000_000)),
    },
    Key {
        name: "rokka.logFormat",
        apply: |d, v| set(&mut d.log_format, v.parse()),
    },
    Key {
        name: "rokka.logLevel",
        apply: |d, v| {
            check_log_filter(v)?;
            d.log_level = Some(v.to_string());
            Ok(())
        },
    },
];

/// Stores a checked value; keeps the table's entries one line each.
fn set<T>(field: &mut T, value: Result<T, String>) -> Result<(), String> {
    *field = value?;
    Ok(())
}

/// Every key: this table and the cluster keys (`cluster_keys.rs`).
fn all_keys() -> impl Iterator<Item = &'static Key> {
    KEYS.iter().chain(super::cluster_keys::CLUSTER_KEYS)
}

/// The key named exactly `name`.
pub(super) fn find(name: &str) -> Option<&'static Key> {
    all_keys().find(|k| k.name == name)
}

/// A known key that differs from `name` only in ASCII case.
pub(super) fn suggest(name: &str) -> Option<&'static str> {
    all_keys()
        .find(|k| k.name.eq_ignore_ascii_case(name))
        .map(|k| k.name)
}

/// Refuses a filter `tracing_subscriber::EnvFilter` cannot parse.
pub(super) fn check_log_filter(v: &str) -> Result<(), String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(v)
        .map(drop)
        .map_err(|e| format!("not a log filter ({e}); try `info` or `rokka=debug,info`"))
}

fn name(v: &str) -> Result<String, String> {
    if v.is_empty() {
        Err("must not be empty".to_string())
    } else {
        Ok(v.to_string())
    }
}

/// An unsigned integer within `min..=max`, converted to the field's type.
pub(super) fn int<T: TryFrom<u64>>(v: &str, min: u64, max: u64) -> Result<T, String> {
    let n = u64::from_str(v).map_err(|_| format!("expected an integer between {min} and {max}"))?;
    if !(min..=max).contains(&n) {
        return Err(format!("must be between {min} and {max}"));
    }
    T::try_from(n).map_err(|_| format!("must be between {min} and {max}"))
}

/// A duration in milliseconds, 1 ms to 1 day.
pub(super) fn millis(v: &str) -> Result<std::time::Duration, String> {
    int(v, 1, 86_400_000).map(std::time::Duration::from_millis)
}

fn port(v: &str) -> Result<u16, String> {
    u16::from_str(v).map_err(|_| "expected a port number between 0 and 65535".to_string())
}

/// `true` or `false`, any case. Java would read anything else as false; a typo
/// should not silently turn a feature off.
fn boolean(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected true or false".to_string()),
    }
}

/// A whole percentage 1..=100 (RocketMQ's unit), returned as a ratio 0..=1.
fn percent(v: &str) -> Result<f64, String> {
    let p: u8 =
        int(v, 1, 100).map_err(|_| "expected a percentage between 1 and 100".to_string())?;
    Ok(f64::from(p) / 100.0)
}

fn ip(v: &str) -> Result<IpAddr, String> {
    IpAddr::from_str(v).map_err(|_| "expected an IPv4 or IPv6 address".to_string())
}

fn path(v: &str) -> Result<PathBuf, String> {
    if v.is_empty() {
        Err("expected a directory path".to_string())
    } else {
        Ok(PathBuf::from(v))
    }
}

fn single_dir(v: &str) -> Result<PathBuf, String> {
    if v.contains(',') {
        return Err("rokka keeps one data directory; list exactly one".to_string());
    }
    path(v)
}

fn segment_size(v: &str) -> Result<u64, String> {
    int(v, 64 * 1024, 1 << 40).map_err(|_| {
        "expected a size in bytes between 65536 (64 KiB) and 1099511627776 (1 TiB)".to_string()
    })
}

fn message_size(v: &str) -> Result<usize, String> {
    int(v, 1, 1 << 30)
        .map_err(|_| "expected a size in bytes between 1 and 1073741824 (1 GiB)".to_string())
}

/// RocketMQ gives the ConsumeQueue file size in bytes, 20 per entry.
fn consume_queue_entries(v: &str) -> Result<u32, String> {
    let bytes: u64 = int(v, 20, 20 * u64::from(u32::MAX))?;
    if !bytes.is_multiple_of(20) {
        return Err("must be a multiple of 20 (the ConsumeQueue entry size)".to_string());
    }
    u32::try_from(bytes / 20).map_err(|_| "too large".to_string())
}

/// `04` or `04;16`: hours of the day, 00..=23.
pub(super) fn delete_when(v: &str) -> Result<Vec<u8>, String> {
    let hours = v
        .split(';')
        .map(|h| h.trim())
        .filter(|h| !h.is_empty())
        .map(|h| {
            int::<u8>(h, 0, 23).map_err(|_| format!("`{h}` is not an hour of the day (00 to 23)"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if hours.is_empty() {
        return Err("expected hours of the day such as `04` or `04;16`".to_string());
    }
    Ok(hours)
}

/// `host:port;host:port`; an empty value means none.
fn namesrv_list(v: &str) -> Result<Vec<String>, String> {
    v.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|addr| match addr.rsplit_once(':') {
            Some((host, p)) if !host.is_empty() && port(p).is_ok() => Ok(addr.to_string()),
            _ => Err(format!("`{addr}` is not host:port")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_are_unique() {
        let keys: Vec<&Key> = all_keys().collect();
        for (i, k) in keys.iter().enumerate() {
            assert!(
                keys[i + 1..].iter().all(|o| o.name != k.name),
                "duplicate key {}",
                k.name
            );
        }
    }

    #[test]
    fn delete_when_single_and_list() {
        assert_eq!(delete_when("04"), Ok(vec![4]));
        assert_eq!(delete_when("04;05"), Ok(vec![4, 5]));
        assert_eq!(delete_when(" 0 ; 23 ;"), Ok(vec![0, 23]));
    }

    #[test]
    fn delete_when_refuses_bad_hours() {
        assert!(delete_when("24").unwrap_err().contains("`24`"));
        assert!(delete_when("4am").is_err());
        assert!(delete_when("").is_err());
        assert!(delete_when(";").is_err());
    }

    #[test]
    fn percent_range() {
        assert_eq!(percent("75"), Ok(0.75));
        assert_eq!(percent("100"), Ok(1.0));
        assert!(percent("0").is_err());
        assert!(percent("101").is_err());
        assert!(percent("0.75").is_err());
    }

    #[test]
    fn booleans_are_strict() {
        assert_eq!(boolean("TRUE"), Ok(true));
        assert_eq!(boolean("false"), Ok(false));
        assert!(boolean("yes").is_err());
    }

    #[test]
    fn namesrv_addresses() {
        assert_eq!(
            namesrv_list("a:9876; 10.0.0.2:9876"),
            Ok(vec!["a:9876".to_string(), "10.0.0.2:9876".to_string()])
        );
        assert_eq!(namesrv_list(""), Ok(vec![]));
        assert!(namesrv_list("a").is_err());
        assert!(namesrv_list(":9876").is_err());
    }

    #[test]
    fn consume_queue_size_is_in_bytes() {
        assert_eq!(consume_queue_entries("6000000"), Ok(300_000));
        assert!(consume_queue_entries("6000001").is_err());
    }
}
