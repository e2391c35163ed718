//! Golden tests: request frames captured from real Kafka clients
//! (`tests/golden/kafka/*.bin`, listed in `INDEX.md` there) decode with no
//! bytes left over, with the field values the capture notes describe, and
//! their record sets validate (CRC, decompression, record counts).

use bytes::Bytes;
use rokka_protocols::kafka::records::{
    decode_message_set, decode_v2_records, split_entries, validate_v2,
};
use rokka_protocols::kafka::request::{decode_request, Request};

fn golden(name: &str) -> (rokka_protocols::kafka::RequestHeader, Request) {
    let path = format!("{}/tests/golden/kafka/{name}", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let size = i32::from_be_bytes(raw[..4].try_into().unwrap()) as usize;
    assert_eq!(size + 4, raw.len(), "{name}: frame size");
    let frame = Bytes::from(raw).slice(4..);
    decode_request(&frame).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Validates every partition's records; returns the record counts.
fn record_counts(p: &rokka_protocols::kafka::produce::ProduceRequest) -> Vec<usize> {
    let mut out = Vec::new();
    for t in &p.topics {
        for part in &t.partitions {
            let entries = split_entries(&part.records).unwrap();
            if entries.iter().all(|(m, _)| *m == 2) {
                let mut n = 0;
                for (_, b) in &entries {
                    let v = validate_v2(b).unwrap();
                    assert_eq!(decode_v2_records(b).unwrap().len(), v.count as usize);
                    n += v.count as usize;
                }
                out.push(n);
            } else {
                out.push(decode_message_set(&part.records, 0).unwrap().len());
            }
        }
    }
    out
}

#[test]
fn every_golden_frame_decodes_completely() {
    let dir = format!("{}/tests/golden/kafka", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".bin") {
            let (_, req) = golden(&name);
            if let Request::Produce(p) = req {
                assert!(record_counts(&p).iter().all(|&c| c > 0), "{name}");
            }
            n += 1;
        }
    }
    assert!(n >= 30, "only {n} golden frames");
}

#[test]
fn api_versions_v3_kcat() {
    let (h, req) = golden("kcat-1.7.1-001-api18-v3.bin");
    assert!(h.flexible);
    let Request::ApiVersions(a) = req else {
        panic!()
    };
    assert_eq!(a.client_software_name, "librdkafka");
    assert_eq!(a.client_software_version, "2.0.2");
}

#[test]
fn metadata_v0_empty_means_all_and_v5_no_auto_create() {
    let (_, Request::Metadata(m)) = golden("sarama-1.22.1-008-api3-v0.bin") else {
        panic!()
    };
    assert_eq!(m.topics, None);
    let (_, Request::Metadata(m)) = golden("kafka-python-2.0.2-004-api3-v5.bin") else {
        panic!()
    };
    assert_eq!(m.topics, None);
    assert!(!m.allow_auto_topic_creation);
    let (_, Request::Metadata(m)) = golden("sarama-1.22.1-005-api3-v5.bin") else {
        panic!()
    };
    let names: Vec<_> = m.topics.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, vec![Some("vec-sarama".to_string())]);
    assert!(m.allow_auto_topic_creation);
}

#[test]
fn produce_v7_gzip_and_xerial_snappy_batches() {
    for (name, topic) in [
        ("kafka-python-2.0.2-006-api0-v7.bin", "vec-kp2a"),
        ("kafka-python-2.0.2-007-api0-v7.bin", "vec-kp2s"),
    ] {
        let (_, Request::Produce(p)) = golden(name) else {
            panic!()
        };
        assert_eq!(p.acks, -1);
        assert_eq!(p.topics[0].name, topic);
        assert_eq!(record_counts(&p), vec![3, 3, 4], "{name}");
    }
}

#[test]
fn produce_message_sets_magic_0_and_1() {
    // kcat fallback 0.9.0: magic 0 gzip / none / raw snappy, 4 messages each.
    for name in [
        "kcat-1.7.1-004-api0-v1.bin",
        "kcat-1.7.1-005-api0-v1.bin",
        "kcat-1.7.1-006-api0-v1.bin",
    ] {
        let (_, Request::Produce(p)) = golden(name) else {
            panic!()
        };
        assert_eq!(record_counts(&p), vec![4], "{name}");
    }
    // kafka-python api_version=(0,10,1): magic 1 gzip wrappers.
    let (_, Request::Produce(p)) = golden("kafka-python-2.0.2-012-api0-v2.bin") else {
        panic!()
    };
    assert_eq!(record_counts(&p), vec![2, 2, 1]);
    let recs = decode_message_set(&p.topics[0].partitions[0].records, 0).unwrap();
    assert!(recs.iter().all(|r| r.timestamp > 1_500_000_000_000));
    // sarama default version: Produce v0, magic 0.
    let (_, Request::Produce(p)) = golden("sarama-1.22.1-009-api0-v0.bin") else {
        panic!()
    };
    assert_eq!(record_counts(&p), vec![1]);
}

#[test]
fn join_sync_heartbeat_kcat() {
    let (_, Request::JoinGroup(j)) = golden("kcat-1.7.1-012-api11-v0.bin") else {
        panic!()
    };
    assert_eq!(j.group_id, "kcat-group");
    assert_eq!(j.session_timeout_ms, 45000);
    assert_eq!(j.rebalance_timeout_ms, 45000);
    assert_eq!(j.member_id, "rdkafka-5602da48-9e68-4dc2-b067-5e2afb2c9489");
    let names: Vec<_> = j.protocols.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["range", "roundrobin"]);
    let (_, Request::SyncGroup(s)) = golden("kcat-1.7.1-013-api14-v0.bin") else {
        panic!()
    };
    assert_eq!(s.generation_id, 0);
    assert_eq!(s.assignments.len(), 1);
    let (_, Request::Heartbeat(h)) = golden("kcat-1.7.1-014-api12-v0.bin") else {
        panic!()
    };
    assert_eq!(h.member_id, j.member_id);
}

#[test]
fn list_offsets_v0_and_find_coordinator_v0() {
    let (_, Request::ListOffsets(l)) = golden("kcat-1.7.1-008-api2-v0.bin") else {
        panic!()
    };
    assert_eq!(l.topics[0].name, "vec-kcat");
    assert_eq!(l.topics[0].partitions[0].partition_index, 1);
    assert_eq!(l.topics[0].partitions[0].timestamp, -2);
    let (_, Request::FindCoordinator(f)) = golden("sarama-1.22.1-006-api10-v0.bin") else {
        panic!()
    };
    assert_eq!(f.keys, ["saramaprobe-vec-sarama"]);
}

#[test]
fn every_truncation_of_a_golden_frame_fails_cleanly() {
    for name in [
        "kafka-python-2.0.2-006-api0-v7.bin",
        "kcat-1.7.1-012-api11-v0.bin",
    ] {
        let path = format!("{}/tests/golden/kafka/{name}", env!("CARGO_MANIFEST_DIR"));
        let frame = Bytes::from(std::fs::read(path).unwrap()).slice(4..);
        for n in 0..frame.len() {
            assert!(
                decode_request(&frame.slice(..n)).is_err(),
                "{name} cut at {n}"
            );
        }
    }
}

#[test]
fn flexible_java_produce_v9_idempotent_batches() {
    let (h, Request::Produce(p)) = golden("kafka-clients-3.6.2-007-api0-v9.bin") else {
        panic!()
    };
    assert!(h.flexible);
    assert_eq!(h.client_id.as_deref(), Some("probe-producer-ada12994"));
    assert_eq!(p.acks, -1);
    assert_eq!(record_counts(&p), vec![6, 7, 7]);
    let b = split_entries(&p.topics[0].partitions[0].records).unwrap();
    let v = validate_v2(&b[0].1).unwrap();
    assert_eq!(
        (v.producer_id, v.producer_epoch, v.base_sequence),
        (3, 0, 0)
    );
    let recs = decode_v2_records(&b[0].1).unwrap();
    assert!(recs.iter().all(|r| r.headers.len() <= 3 && r.key.is_some()));
}

#[test]
fn flexible_metadata_v12_and_find_coordinator_v4() {
    let (_, Request::Metadata(m)) = golden("kafka-clients-3.6.2-003-api3-v12.bin") else {
        panic!()
    };
    assert_eq!(m.topics, None);
    let (_, Request::Metadata(m)) = golden("kafka-clients-3.6.2-005-api3-v12.bin") else {
        panic!()
    };
    let t = &m.topics.unwrap()[0];
    assert_eq!(t.name.as_deref(), Some("vec-java"));
    assert_eq!(t.topic_id, [0; 16]);
    let (_, Request::FindCoordinator(f)) = golden("kafka-clients-3.6.2-008-api10-v4.bin") else {
        panic!()
    };
    assert_eq!(f.keys, ["probe-group-ada12994"]);
}

#[test]
fn flexible_join_group_v9_and_sync_group_v5() {
    let (_, Request::JoinGroup(j)) = golden("kafka-clients-3.6.2-010-api11-v9.bin") else {
        panic!()
    };
    assert_eq!(j.group_id, "probe-group-ada12994");
    assert_eq!(j.session_timeout_ms, 45000);
    assert_eq!(j.rebalance_timeout_ms, 300000);
    assert!(j.member_id.starts_with("probe-consumer-ada12994-"));
    let names: Vec<_> = j.protocols.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["range", "cooperative-sticky"]);
    let (_, Request::SyncGroup(s)) = golden("kafka-clients-3.6.2-011-api14-v5.bin") else {
        panic!()
    };
    assert_eq!(s.member_id, j.member_id);
    assert_eq!(s.assignments.len(), 1);
}

#[test]
fn flexible_fetch_v12_and_init_producer_id_v4() {
    let (_, Request::Fetch(f)) = golden("kafka-python-3.0.12-015-api1-v12.bin") else {
        panic!()
    };
    assert!(!f.topics.is_empty());
    let (_, Request::InitProducerId(i)) = golden("kafka-clients-3.6.2-006-api22-v4.bin") else {
        panic!()
    };
    assert_eq!(i.transactional_id, None);
    assert_eq!((i.producer_id, i.producer_epoch), (-1, -1));
}

#[test]
fn create_topics_v3_v4_v7() {
    for (name, topic) in [
        ("kafka-python-2.0.2-005-api19-v3.bin", "vec-kp2a"),
        ("kafka-clients-3.6.2-004-api19-v7.bin", "vec-java"),
    ] {
        let (_, Request::CreateTopics(c)) = golden(name) else {
            panic!("{name}")
        };
        assert_eq!(c.topics[0].name, topic);
        assert_eq!(c.topics[0].num_partitions, 3);
        assert_eq!(c.topics[0].replication_factor, 1);
        assert!(!c.validate_only);
    }
}

#[test]
fn confluent_produce_v10_lz4_idempotent() {
    let (h, Request::Produce(p)) = golden("confluent-kafka-2.16.1-007-api0-v10.bin") else {
        panic!()
    };
    assert!(h.flexible);
    for t in &p.topics {
        for part in &t.partitions {
            for (_, b) in split_entries(&part.records).unwrap() {
                let v = validate_v2(&b).unwrap();
                assert!(v.producer_id >= 0, "idempotent");
                assert_eq!(b[22] & 7, 3, "lz4");
                for r in decode_v2_records(&b).unwrap() {
                    assert_eq!(r.headers.len(), 2);
                }
            }
        }
    }
}
