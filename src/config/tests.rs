//! Unit tests of config resolution: key mapping, error reporting, precedence.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rokka_store::FlushDiskType;

use super::*;

const FILE: &str = "/etc/rokka/broker.conf";

/// Overrides that pin the bind address so `store_host` does not depend on the host.
fn loopback() -> Overrides {
    Overrides {
        bind_address: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ..Overrides::default()
    }
}

fn from_file(text: &str) -> Result<BrokerConfig, ConfigError> {
    BrokerConfig::from_sources(Some((Path::new(FILE), text)), &loopback())
}

fn error_text(text: &str) -> String {
    from_file(text).unwrap_err().to_string()
}

#[test]
fn defaults_without_file() {
    let c = BrokerConfig::from_sources(None, &Overrides::default()).unwrap();
    assert_eq!(c.data_dir(), Path::new("data"));
    assert_eq!(c.store.commit_log_dir, Path::new("data/commitlog"));
    assert_eq!(c.namesrv_listen, "0.0.0.0:9876".parse().unwrap());
    assert_eq!(c.broker_listen, "0.0.0.0:10911".parse().unwrap());
    assert_eq!(c.kafka_listen, "0.0.0.0:9092".parse().unwrap());
    assert_eq!(c.http_listen, "0.0.0.0:8080".parse().unwrap());
    assert_eq!(c.store.store_host.port(), 10911);
    assert_eq!(c.log_filter, "info");
    assert_eq!(c.broker_role, BrokerRole::AsyncMaster);
    assert!(c.auto_create_topic_enable);
    assert_eq!(c.config_file, None);
}

#[test]
fn rocketmq_keys_map_to_store_config() {
    let c = from_file(
        "brokerClusterName = TestCluster\n\
         brokerName = broker-b\n\
         brokerId = 0\n\
         brokerRole = SYNC_MASTER\n\
         listenPort = 20911\n\
         brokerIP1 = 10.1.2.3\n\
         namesrvAddr = ns1:9876;ns2:9876\n\
         storePathRootDir = /var/lib/rokka\n\
         storePathCommitLog = /fast/commitlog\n\
         flushDiskType = SYNC_FLUSH\n\
         flushIntervalCommitLog = 200\n\
         log.cleaner.backoff.ms = 2500\n\
         autoCreateTopicEnable = false\n\
         defaultTopicQueueNums = 6\n\
         fileReservedTime = 48\n\
         deleteWhen = 04;05\n\
         diskMaxUsedSpaceRatio = 88\n\
         mapedFileSizeCommitLog = 1048576\n\
         mapedFileSizeConsumeQueue = 20000\n\
         maxMessageSize = 65536\n",
    )
    .unwrap();
    assert_eq!(c.broker_cluster_name, "TestCluster");
    assert_eq!(c.broker_name, "broker-b");
    assert_eq!(c.broker_role, BrokerRole::SyncMaster);
    assert_eq!(c.namesrv_addr, vec!["ns1:9876", "ns2:9876"]);
    assert!(!c.auto_create_topic_enable);
    assert_eq!(c.default_topic_queue_nums, 6);
    assert_eq!(c.broker_listen, "127.0.0.1:20911".parse().unwrap());
    let s = &c.store;
    assert_eq!(s.root_dir, Path::new("/var/lib/rokka"));
    assert_eq!(s.commit_log_dir, Path::new("/fast/commitlog"));
    assert_eq!(s.flush_disk_type, FlushDiskType::SyncFlush);
    assert_eq!(s.flush_interval, Duration::from_millis(200));
    assert_eq!(s.compaction_interval, Duration::from_millis(2500));
    assert_eq!(s.file_reserved_hours, 48);
    assert_eq!(s.delete_when, vec![4, 5]);
    assert_eq!(s.disk_max_used_space_ratio, 0.88);
    assert_eq!(s.commit_log_segment_size, 1 << 20);
    assert_eq!(s.consume_queue_entries_per_file, 1000);
    assert_eq!(s.max_message_size, 65536);
    assert_eq!(
        s.store_host,
        "10.1.2.3:20911".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn correct_spelling_of_mapped_file_size() {
    let c = from_file("mappedFileSizeCommitLog=8388608").unwrap();
    assert_eq!(c.store.commit_log_segment_size, 8 << 20);
}

#[test]
fn kafka_keys_map_to_the_same_settings() {
    let c = from_file(
        "auto.create.topics.enable=false\n\
         num.partitions=3\n\
         log.retention.hours=168\n\
         message.max.bytes=1000012\n\
         log.dirs=/srv/kafka\n\
         listeners=PLAINTEXT://:19092\n\
         advertised.listeners=PLAINTEXT://kafka.example:19092\n",
    )
    .unwrap();
    assert!(!c.auto_create_topic_enable);
    assert_eq!(c.default_topic_queue_nums, 3);
    assert_eq!(c.store.file_reserved_hours, 168);
    assert_eq!(c.store.max_message_size, 1_000_012);
    assert_eq!(c.data_dir(), Path::new("/srv/kafka"));
    assert_eq!(c.kafka_listen, "127.0.0.1:19092".parse().unwrap());
    assert_eq!(
        c.kafka_advertised,
        Some(AdvertisedListener {
            host: "kafka.example".to_string(),
            port: 19092
        })
    );
}

#[test]
fn kafka_infinite_retention() {
    assert_eq!(
        from_file("log.retention.hours=-1")
            .unwrap()
            .store
            .file_reserved_hours,
        u32::MAX
    );
}

#[test]
fn rokka_keys() {
    let c = BrokerConfig::from_sources(
        Some((
            Path::new(FILE),
            "rokka.dataDir=/d\nrokka.bindAddress=::1\nrokka.httpPort=18080\nrokka.kafkaPort=19092\n\
             rokka.namesrvPort=19876\nrokka.diskRefuseRatio=93\nrokka.diskCleanForciblyRatio=97\n\
             rokka.logLevel=rokka=debug,warn\n",
        )),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.data_dir(), Path::new("/d"));
    assert_eq!(c.http_listen, "[::1]:18080".parse().unwrap());
    assert_eq!(c.kafka_listen, "[::1]:19092".parse().unwrap());
    assert_eq!(c.namesrv_listen, "[::1]:19876".parse().unwrap());
    assert_eq!(c.store.disk_refuse_ratio, 0.93);
    assert_eq!(c.store.disk_clean_forcibly_ratio, 0.97);
    assert_eq!(c.log_filter, "rokka=debug,warn");
    // A specific bind address is also the default storeHost.
    assert_eq!(c.store.store_host, "[::1]:10911".parse().unwrap());
}

#[test]
fn unknown_key_names_key_file_and_line() {
    let msg = error_text("brokerName=a\n\n# c\nbogusKey = 1\n");
    assert_eq!(msg, format!("{FILE}:4: unknown key `bogusKey`"));
}

#[test]
fn unknown_key_with_wrong_case_gets_a_suggestion() {
    let msg = error_text("brokername=a\n");
    assert!(msg.contains("did you mean `brokerName`?"), "{msg}");
}

#[test]
fn malformed_number_names_key_file_and_line() {
    let err = from_file("brokerName=a\nlistenPort = 10x11\n").unwrap_err();
    match &err {
        ConfigError::InvalidValue {
            path,
            line,
            key,
            value,
            ..
        } => {
            assert_eq!(path, &PathBuf::from(FILE));
            assert_eq!(
                (*line, key.as_str(), value.as_str()),
                (2, "listenPort", "10x11")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().starts_with(&format!(
        "{FILE}:2: invalid value `10x11` for key `listenPort`"
    )));
}

#[test]
fn percent_out_of_range() {
    for bad in ["0", "101", "-5", "75%"] {
        let msg = error_text(&format!("diskMaxUsedSpaceRatio={bad}"));
        assert!(
            msg.contains("diskMaxUsedSpaceRatio") && msg.contains("between 1 and 100"),
            "{msg}"
        );
    }
}

#[test]
fn bad_enum_and_bool_values() {
    assert!(error_text("flushDiskType=LAZY").contains("ASYNC_FLUSH or SYNC_FLUSH"));
    assert!(error_text("brokerRole=SLAVE").contains("not a configured role"));
    assert!(error_text("autoCreateTopicEnable=yes").contains("true or false"));
    assert!(error_text("deleteWhen=25").contains("deleteWhen"));
    assert!(error_text("mapedFileSizeCommitLog=1024").contains("64 KiB"));
}

#[test]
fn inconsistent_values_are_refused() {
    let err = from_file("mapedFileSizeCommitLog=1048576\nmaxMessageSize=4194304\n").unwrap_err();
    assert!(matches!(err, ConfigError::Inconsistent(_)), "{err:?}");
}

#[test]
fn syntax_error_names_file_and_line() {
    assert_eq!(
        error_text("a.b\\u00zz"),
        format!("{FILE}:1: malformed \\uXXXX escape")
    );
}

#[test]
fn later_duplicate_wins() {
    assert_eq!(
        from_file("brokerName=a\nbrokerName=b").unwrap().broker_name,
        "b"
    );
}

#[test]
fn commit_log_dir_follows_data_dir_from_a_later_source() {
    let overrides = Overrides {
        data_dir: Some(PathBuf::from("/flag")),
        ..loopback()
    };
    let c = BrokerConfig::from_sources(
        Some((Path::new(FILE), "storePathRootDir=/file\n")),
        &overrides,
    )
    .unwrap();
    assert_eq!(c.data_dir(), Path::new("/flag"));
    assert_eq!(c.store.commit_log_dir, Path::new("/flag/commitlog"));
}

#[test]
fn precedence_defaults_file_env_flags() {
    let file = "rokka.httpPort=1\nrokka.kafkaPort=2\nrokka.namesrvPort=3\nlistenPort=4\n\
                rokka.bindAddress=10.0.0.1\nrokka.logLevel=warn\n";
    let path = Path::new(FILE);

    // File over defaults.
    let c = BrokerConfig::from_sources(Some((path, file)), &Overrides::default()).unwrap();
    assert_eq!(c.http_listen, "10.0.0.1:1".parse().unwrap());
    assert_eq!(c.kafka_listen, "10.0.0.1:2".parse().unwrap());
    assert_eq!(c.namesrv_listen, "10.0.0.1:3".parse().unwrap());
    assert_eq!(c.broker_listen, "10.0.0.1:4".parse().unwrap());
    assert_eq!(c.log_filter, "warn");

    // Overrides (env, flags) over the file; RUST_LOG over the file.
    let o = Overrides {
        http_port: Some(11),
        kafka_port: Some(12),
        bind_address: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        rust_log: Some("debug".to_string()),
        ..Overrides::default()
    };
    let c = BrokerConfig::from_sources(Some((path, file)), &o).unwrap();
    assert_eq!(c.http_listen, "127.0.0.1:11".parse().unwrap());
    assert_eq!(c.kafka_listen, "127.0.0.1:12".parse().unwrap());
    assert_eq!(c.namesrv_listen, "127.0.0.1:3".parse().unwrap());
    assert_eq!(c.log_filter, "debug");

    // --log-level / ROKKA_LOG_LEVEL over RUST_LOG.
    let o = Overrides {
        log_level: Some("error".to_string()),
        ..o
    };
    assert_eq!(
        BrokerConfig::from_sources(Some((path, file)), &o)
            .unwrap()
            .log_filter,
        "error"
    );
}

#[test]
fn bind_address_flag_replaces_listeners_host() {
    let file = "listeners=PLAINTEXT://10.0.0.1:9093\n";
    let c =
        BrokerConfig::from_sources(Some((Path::new(FILE), file)), &Overrides::default()).unwrap();
    assert_eq!(c.kafka_listen, "10.0.0.1:9093".parse().unwrap());
    let c = BrokerConfig::from_sources(Some((Path::new(FILE), file)), &loopback()).unwrap();
    assert_eq!(c.kafka_listen, "127.0.0.1:9093".parse().unwrap());
}

#[test]
fn bad_log_filter_override_is_refused() {
    let o = Overrides {
        log_level: Some("rokka=loud".to_string()),
        ..loopback()
    };
    let err = BrokerConfig::from_sources(None, &o).unwrap_err();
    assert!(err.to_string().contains("--log-level"), "{err}");
}

#[test]
fn unreadable_file_is_reported() {
    let o = Overrides {
        config_file: Some(PathBuf::from("/nonexistent/rokka/broker.conf")),
        ..loopback()
    };
    let msg = BrokerConfig::load(&o).unwrap_err().to_string();
    assert!(
        msg.starts_with("cannot read config file /nonexistent/rokka/broker.conf"),
        "{msg}"
    );
}

#[test]
fn log_format_from_file_and_flag() {
    use crate::config::LogFormat;
    assert_eq!(from_file("").unwrap().log_format, LogFormat::Text);
    let json = from_file("rokka.logFormat=JSON\n").unwrap();
    assert_eq!(json.log_format, LogFormat::Json);
    let o = Overrides {
        log_format: Some(LogFormat::Text),
        ..loopback()
    };
    let file = "rokka.logFormat=json\n";
    let c = BrokerConfig::from_sources(Some((Path::new(FILE), file)), &o).unwrap();
    assert_eq!(c.log_format, LogFormat::Text);
    let err = error_text("rokka.logFormat=xml\n");
    assert!(err.contains("expected text or json"), "{err}");
}

#[test]
fn pending_append_budget_from_either_vocabulary() {
    let c = from_file("queued.max.request.bytes=1048576").unwrap();
    assert_eq!(c.store.max_pending_append_bytes, 1 << 20);
    let c = from_file("queued.max.request.bytes=-1").unwrap();
    assert_eq!(c.store.max_pending_append_bytes, 256 << 20);
    let c = from_file("rokka.maxPendingAppendBytes=65536").unwrap();
    assert_eq!(c.store.max_pending_append_bytes, 65536);
    assert!(from_file("rokka.maxPendingAppendBytes=0").is_err());
}

#[test]
fn transaction_check_keys() {
    let c =
        from_file("transactionTimeOut=500\ntransactionCheckInterval=250\ntransactionCheckMax=3")
            .unwrap();
    assert_eq!(
        c.transaction_check.timeout,
        std::time::Duration::from_millis(500)
    );
    assert_eq!(
        c.transaction_check.interval,
        std::time::Duration::from_millis(250)
    );
    assert_eq!(c.transaction_check.max, 3);
    assert!(from_file("transactionCheckMax=0").is_err());
    let d = from_file("").unwrap();
    assert_eq!(
        d.transaction_check.interval,
        std::time::Duration::from_secs(60)
    );
}

#[test]
fn connection_and_disk_hygiene_keys() {
    let c = BrokerConfig::from_sources(
        Some((
            Path::new(FILE),
            "connections.max.idle.ms=2000\nmax.connections=50\nmax.connections.per.ip=5\n\
             serverChannelMaxIdleTimeSeconds=7\nrokka.remotingMaxConnections=40\n\
             rokka.remotingMaxConnectionsPerIp=4\nrokka.frameReadTimeoutMs=1500\n\
             rokka.rejectedLogsPerSecond=3\ncleanFileForciblyEnable=false\n\
             diskSpaceCleanForciblyRatio=80\nrokka.diskRefuseRatio=85\n",
        )),
        &Overrides::default(),
    )
    .unwrap();
    let (k, r) = (c.net.kafka, c.net.remoting);
    assert_eq!(k.idle, Duration::from_millis(2000));
    assert_eq!((k.max_connections, k.max_connections_per_ip), (50, 5));
    assert_eq!(r.idle, Duration::from_secs(7));
    assert_eq!((r.max_connections, r.max_connections_per_ip), (40, 4));
    assert_eq!(k.frame_read, Duration::from_millis(1500));
    assert_eq!(r.frame_read, Duration::from_millis(1500));
    assert_eq!(c.net.rejected_logs_per_second, 3);
    assert!(!c.store.disk_clean_forcibly_enable);
    // Forced deletion below the refusal ratio is refused while it is enabled.
    let err = BrokerConfig::from_sources(
        Some((Path::new(FILE), "rokka.diskCleanForciblyRatio=80\n")),
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("must lie below the forced-clean ratio"),
        "{err}"
    );
    let d = BrokerConfig::from_sources(None, &Overrides::default()).unwrap();
    assert_eq!(d.net.kafka.idle, Duration::from_millis(600_000));
    assert_eq!(d.net.remoting.idle, Duration::from_secs(120));
}

#[test]
fn cluster_mode_keys() {
    let single = from_file("listenPort = 20911\n").unwrap();
    assert_eq!(single.cluster, None);
    assert_eq!(single.ha_listen, "127.0.0.1:20912".parse().unwrap());
    assert_eq!(single.min_insync_replicas, 1);
    let c = from_file(
        "node.id = 2\n\
         controller.quorum.voters = 1@127.0.0.1:9301,2@127.0.0.1:9302,3@127.0.0.1:9303\n\
         haListenPort = 20999\n\
         min.insync.replicas = 2\n\
         default.replication.factor = 3\n",
    )
    .unwrap();
    let s = c.cluster.expect("cluster mode");
    assert_eq!((s.node_id, s.listen.as_str()), (2, "127.0.0.1:9302"));
    assert_eq!(c.node_id, Some(2));
    assert_eq!(c.ha_listen, "127.0.0.1:20999".parse().unwrap());
    assert_eq!(c.min_insync_replicas, 2);
    assert_eq!(c.default_replication_factor, 3);
    let e = error_text("controller.quorum.voters = 1@127.0.0.1:9301\n");
    assert!(e.contains("node.id"), "{e}");
    let e = error_text("brokerRole = SLAVE\n");
    assert!(e.contains("controller"), "{e}");
}

#[test]
fn property_overrides_come_after_the_file_and_name_their_flag() {
    let o = Overrides {
        properties: vec![
            "mappedFileSizeCommitLog = 8388608".to_string(),
            "defaultTopicQueueNums=2".to_string(),
        ],
        ..loopback()
    };
    let file = "mappedFileSizeCommitLog=16777216\ndefaultTopicQueueNums=6\n";
    let c = BrokerConfig::from_sources(Some((Path::new(FILE), file)), &o).unwrap();
    assert_eq!(c.store.commit_log_segment_size, 8 << 20);
    assert_eq!(c.default_topic_queue_nums, 2);

    let bad = |kv: &str| {
        let o = Overrides {
            properties: vec!["listenPort=1".to_string(), kv.to_string()],
            ..loopback()
        };
        BrokerConfig::from_sources(None, &o)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(bad("novalue"), "--override:2: expected KEY=VALUE");
    assert!(bad("noSuchKey=1").starts_with("--override:2: unknown key `noSuchKey`"));
    assert!(bad("listenPort=x").starts_with("--override:2: invalid value `x` for key `listenPort`"));
}
