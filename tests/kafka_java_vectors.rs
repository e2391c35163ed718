//! The Java client 3.6.2's captured requests (`protocols/tests/golden/kafka/
//! kafka-clients-3.6.2-*.bin`: admin createTopics, idempotent producer,
//! consumer group) replayed byte for byte against the real `rokka`: every
//! response must decode completely with the codec of its API and version,
//! and carry the fields the Java client dereferences (KafkaAdminClient,
//! Metadata, Sender, ConsumerCoordinator): non-empty cluster id and broker
//! list, stable non-zero topic ids, CreateTopics v5+ configs and
//! replication factor on success, ApiVersions' table.

mod support;

use std::io::Write;

use bytes::Bytes;
use rokka_protocols::kafka::api_versions::ApiVersionsResponse;
use rokka_protocols::kafka::find_coordinator::FindCoordinatorResponse;
use rokka_protocols::kafka::groups::join_group::JoinGroupResponse;
use rokka_protocols::kafka::groups::leave_group;
use rokka_protocols::kafka::groups::sync_group::SyncGroupResponse;
use rokka_protocols::kafka::init_producer_id::InitProducerIdResponse;
use rokka_protocols::kafka::metadata::MetadataResponse;
use rokka_protocols::kafka::offset_commit::OffsetCommitResponse;
use rokka_protocols::kafka::produce::ProduceResponse;
use rokka_protocols::kafka::{create_topics, is_flexible, ApiKey, Reader};
use support::kafka::Conn;
use support::Rokka;

fn vectors() -> Vec<(String, Bytes)> {
    let dir = format!(
        "{}/protocols/tests/golden/kafka",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut v: Vec<(String, Bytes)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.starts_with("kafka-clients-3.6.2-").then(|| {
                (
                    name.clone(),
                    Bytes::from(std::fs::read(format!("{dir}/{name}")).unwrap()),
                )
            })
        })
        .collect();
    v.sort();
    v
}

#[test]
fn java_client_requests_get_complete_responses() {
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    let files = vectors();
    assert!(files.len() >= 10, "vectors missing: {}", files.len());
    let mut ids = std::collections::HashMap::new();
    for (name, frame) in files {
        let key = i16::from_be_bytes([frame[4], frame[5]]);
        let v = i16::from_be_bytes([frame[6], frame[7]]);
        let corr = i32::from_be_bytes([frame[8], frame[9], frame[10], frame[11]]);
        c.s.write_all(&frame).unwrap();
        let (got, body) = c.recv();
        assert_eq!(got, corr, "{name}: correlation id");
        // Response header v1 (tags) for flexible versions, except ApiVersions.
        let flex = is_flexible(ApiKey(key), v);
        let mut r = Reader::new(&body, 0, flex);
        if flex && key != 18 {
            r.tags().unwrap();
        }
        let what = format!("{name}: decode");
        match key {
            18 => {
                let a = ApiVersionsResponse::decode(&mut Reader::new(&body, 0, false), v);
                let a = a.expect(&what);
                assert_eq!(a.error_code, 0, "{name}");
                assert!(a.api_keys.len() > 20, "{name}: api table");
                continue;
            }
            3 => {
                let m = MetadataResponse::decode(&mut r, v).expect(&what);
                assert!(!m.cluster_id.is_empty(), "{name}: cluster id");
                assert_eq!(m.brokers.len(), 1, "{name}: brokers");
                for t in &m.topics {
                    assert_ne!(t.topic_id, [0; 16], "{name}: topic id of {:?}", t.name);
                    let prev = ids.insert(t.name.clone(), t.topic_id);
                    assert!(
                        prev.is_none_or(|p| p == t.topic_id),
                        "{name}: topic id changed"
                    );
                }
            }
            19 => {
                let ts = create_topics::decode_response(&mut r, v).expect(&what);
                for t in &ts {
                    if t.error_code == 0 {
                        assert!(t.num_partitions > 0, "{name}: num_partitions");
                        assert_eq!(t.replication_factor, 1, "{name}: replication factor");
                        assert!(
                            t.configs
                                .iter()
                                .any(|c| c.name == "retention.ms" && c.value.is_some()),
                            "{name}: configs of the created topic"
                        );
                        assert_ne!(t.topic_id, [0; 16], "{name}: topic id");
                    }
                }
            }
            22 => {
                let p = InitProducerIdResponse::decode(&mut r, v).expect(&what);
                assert_eq!(p.error_code, 0, "{name}");
            }
            0 => {
                ProduceResponse::decode(&mut r, v).expect(&what);
            }
            10 => {
                FindCoordinatorResponse::decode(&mut r, v).expect(&what);
            }
            11 => {
                JoinGroupResponse::decode(&mut r, v).expect(&what);
            }
            14 => {
                SyncGroupResponse::decode(&mut r, v).expect(&what);
            }
            8 => {
                OffsetCommitResponse::decode(&mut r, v).expect(&what);
            }
            13 => {
                leave_group::decode_response(&mut r, v).expect(&what);
            }
            _ => panic!("{name}: no response decoder listed for api {key}"),
        }
        assert_eq!(r.remaining(), 0, "{name}: bytes left after the response");
    }
}
