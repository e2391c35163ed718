//! Unit tests and randomized round trips (a seeded generator stands in for
//! proptest, which this crate does not depend on).

use std::net::SocketAddr;

use bytes::Bytes;
use rokka_protocols::kafka::records::{build_v2_batch, decode_v2_records, validate_v2, Record};
use rokka_protocols::remoting::message::{create_message_id, decode_message, decode_messages};
use rokka_store::entry::kafka::{check_batch, encode, encoded_len};
use rokka_store::entry::rocketmq::{self, Placement};
use rokka_store::{java_string_hash, EntryKind, KafkaBatch, MessageToStore, StoredEntry};

use super::to_kafka::{message_to_record, rocketmq_entry_to_batch};
use super::to_rocketmq::{
    batch_to_messages, kafka_record_at, produce_index, record_tags_code, BatchPlace,
};

const HOST: &str = "127.0.0.1:10911";

/// A zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(65535).collect()
    };
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        out.extend_from_slice(&(c.len() as u16).to_le_bytes());
        out.extend_from_slice(&(!(c.len() as u16)).to_le_bytes());
        out.extend_from_slice(c);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for x in data {
        a = (a + u32::from(*x)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn stored(body: &[u8], sys_flag: i32, props: &[u8], queue_offset: u64) -> Bytes {
    let m = MessageToStore {
        flag: 3,
        body: Bytes::copy_from_slice(body),
        sys_flag,
        born_timestamp: 1_700_000_000_001,
        born_host: "10.0.0.9:4444".parse().unwrap(),
        reconsume_times: 0,
        prepared_tx_offset: 0,
        properties: Bytes::copy_from_slice(props),
    };
    let host: SocketAddr = HOST.parse().unwrap();
    let mut buf = vec![0u8; rocketmq::encoded_len(&m, 5, &host)];
    let p = Placement {
        topic: b"Cross",
        queue_id: 1,
        queue_offset,
        phy_offset: 777,
        store_timestamp: 1_700_000_000_999,
        store_host: host,
    };
    rocketmq::encode(&mut buf, &m, &p);
    Bytes::from(buf)
}

fn place(base: u64) -> BatchPlace<'static> {
    BatchPlace {
        topic: "Cross",
        queue_id: 2,
        base_offset: base,
        phy_offset: 4096,
        store_timestamp: 1_700_000_000_500,
        store_host: HOST.parse().unwrap(),
    }
}

fn hdr(k: &str, v: &[u8]) -> (Bytes, Option<Bytes>) {
    (
        Bytes::copy_from_slice(k.as_bytes()),
        Some(Bytes::copy_from_slice(v)),
    )
}

#[test]
fn rocketmq_message_becomes_one_record_batch() {
    let props = b"KEYS\x01k1 k2\x02TAGS\x01TagA\x02color\x01red\x02UNIQ_KEY\x01ABC\x02WAIT\x01true\x02color\x01blue";
    let entry = stored(&zlib_stored(b"hello zlib"), 1, props, 42);
    let batch = rocketmq_entry_to_batch(&entry).unwrap();
    assert_eq!(i64::from_be_bytes(batch[..8].try_into().unwrap()), 42);
    assert_eq!(i16::from_be_bytes(batch[21..23].try_into().unwrap()), 0);
    let crc = u32::from_be_bytes(batch[17..21].try_into().unwrap());
    assert_eq!(crc32c_of(&batch[21..]), crc);
    let recs = decode_v2_records(&batch).unwrap();
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.key.as_deref(), Some(&b"k1 k2"[..]));
    assert_eq!(r.value.as_deref(), Some(&b"hello zlib"[..]));
    assert_eq!(r.timestamp, 1_700_000_000_001);
    assert_eq!(
        r.headers,
        vec![
            hdr("TAGS", b"TagA"),
            hdr("UNIQ_KEY", b"ABC"),
            hdr("color", b"blue")
        ]
    );
}

fn crc32c_of(b: &[u8]) -> u32 {
    // Bitwise CRC-32C (Castagnoli, reflected 0x82F63B78).
    let mut crc = !0u32;
    for x in b {
        crc ^= u32::from(*x);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn message_without_keys_or_props_has_null_key_and_no_headers() {
    let entry = stored(b"", 0, b"", 0);
    let recs = decode_v2_records(&rocketmq_entry_to_batch(&entry).unwrap()).unwrap();
    assert_eq!(recs[0].key, None);
    assert_eq!(recs[0].value.as_deref(), Some(&b""[..]));
    assert!(recs[0].headers.is_empty());
    assert!(rocketmq_entry_to_batch(&Bytes::from_static(b"\0\0\0\x08junk")).is_err());
}

#[test]
fn kafka_batch_becomes_messages_with_keys_tags_and_properties() {
    let recs = vec![
        Record {
            timestamp: 1_700_000_000_010,
            key: Some(Bytes::from_static(b"order-1")),
            value: Some(Bytes::from_static(b"v1")),
            headers: vec![
                hdr("TAGS", b"TagB"),
                hdr("p", b"1"),
                hdr("p", b"2"),
                hdr("bin", b"\xff\xfe"),
                hdr("empty", b""),
                (Bytes::from_static(b"null"), None),
                hdr("KEYS", b"ignored"),
                hdr("bad\x01name", b"x"),
            ],
        },
        Record {
            timestamp: 1_700_000_000_020,
            key: None,
            value: None,
            headers: vec![],
        },
    ];
    let batch = build_v2_batch(10, &recs);
    let out = batch_to_messages(&batch, &place(10)).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].queue_offset, 10);
    assert_eq!(out[1].queue_offset, 11);
    assert_eq!(out[0].tags_code, java_string_hash("TagB") as i64);
    assert_eq!(out[1].tags_code, 0);
    let body: Vec<u8> = out.iter().flat_map(|c| c.bytes.to_vec()).collect();
    let msgs = decode_messages(&Bytes::from(body)).unwrap();
    let m = &msgs[0];
    assert_eq!(m.topic, "Cross");
    assert_eq!(m.queue_id, 2);
    assert_eq!(m.queue_offset, 10);
    assert_eq!(m.physical_offset, 4096);
    assert_eq!(m.born_timestamp, 1_700_000_000_010);
    assert_eq!(m.store_timestamp, 1_700_000_000_500);
    assert_eq!((m.flag, m.sys_flag & 1, m.reconsume_times), (0, 0, 0));
    assert_eq!(m.born_host, "0.0.0.0:0".parse().unwrap());
    assert_eq!(m.store_host, HOST.parse().unwrap());
    assert_eq!(&m.body[..], b"v1");
    assert_eq!(m.property("KEYS"), Some("order-1"));
    assert_eq!(m.property("TAGS"), Some("TagB"));
    assert_eq!(m.property("p"), Some("2"));
    assert_eq!(m.property("bin"), None);
    assert_eq!(m.property("empty"), None);
    assert_eq!(m.property("null"), None);
    assert_eq!(msgs[1].queue_offset, 11);
    assert!(msgs[1].body.is_empty());
    assert_eq!(msgs[1].properties, "");
    // the store's own parser accepts the layout (CRC, lengths)
    assert_eq!(decode_message(&out[0].bytes).unwrap().1, out[0].bytes.len());
}

#[test]
fn compressed_batches_are_decoded() {
    // gzip with a stored deflate block: 10-byte header, deflate, crc32, isize.
    let recs = vec![Record {
        timestamp: 5,
        key: Some(Bytes::from_static(b"k")),
        value: Some(Bytes::from_static(b"compressed value")),
        headers: vec![hdr("TAGS", b"T")],
    }];
    let plain = build_v2_batch(0, &recs);
    let body = &plain[61..];
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let z = zlib_stored(body);
    gz.extend_from_slice(&z[2..z.len() - 4]);
    gz.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    gz.extend_from_slice(&(body.len() as u32).to_le_bytes());
    let mut b = plain[..61].to_vec();
    b[21..23].copy_from_slice(&1i16.to_be_bytes());
    b.extend_from_slice(&gz);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c_of(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    let out = batch_to_messages(&b, &place(0)).unwrap();
    let m = decode_message(&out[0].bytes).unwrap().0;
    assert_eq!(&m.body[..], b"compressed value");
    assert_eq!(m.property("TAGS"), Some("T"));
    assert_eq!(out[0].tags_code, java_string_hash("T") as i64);
    let (keys, codes) = produce_index(&validate_v2(&Bytes::from(b)).unwrap());
    assert_eq!(keys, vec![(0, Bytes::from_static(b"k"))]);
    assert_eq!(codes, vec![java_string_hash("T") as i64]);
}

#[test]
fn headers_beyond_the_properties_limit_are_dropped() {
    let big = "v".repeat(20_000);
    let r = Record {
        key: Some(Bytes::from_static(b"k")),
        headers: vec![
            hdr("a", big.as_bytes()),
            hdr("b", big.as_bytes()),
            hdr("c", b"1"),
        ],
        ..Record::default()
    };
    let props = super::to_rocketmq::record_properties(&r);
    assert!(props.len() <= i16::MAX as usize);
    let out = batch_to_messages(&build_v2_batch(0, &[r]), &place(0)).unwrap();
    let m = decode_message(&out[0].bytes).unwrap().0;
    assert_eq!(m.property("KEYS"), Some("k"));
    assert_eq!(m.property("a").map(str::len), Some(20_000));
    assert_eq!(m.property("b"), None);
    assert_eq!(m.property("c"), Some("1"));
}

#[test]
fn control_batches_give_nothing() {
    let mut b = build_v2_batch(0, &[Record::default()]).to_vec();
    b[21..23].copy_from_slice(&0x20i16.to_be_bytes());
    assert!(batch_to_messages(&b, &place(0)).unwrap().is_empty());
    assert!(batch_to_messages(&b[..10], &place(0)).is_err());
}

#[test]
fn produce_index_splits_keys_and_codes_tags() {
    let recs = vec![
        Record {
            key: Some(Bytes::from_static(b"a  b")),
            headers: vec![hdr("TAGS", b"X")],
            ..Record::default()
        },
        Record::default(),
    ];
    let batch = build_v2_batch(0, &recs);
    let (keys, codes) = produce_index(&validate_v2(&batch).unwrap());
    assert_eq!(
        keys,
        vec![(0, Bytes::from_static(b"a")), (0, Bytes::from_static(b"b"))]
    );
    assert_eq!(codes, vec![java_string_hash("X") as i64, 0]);
    let untagged = build_v2_batch(0, &[Record::default()]);
    assert!(produce_index(&validate_v2(&untagged).unwrap()).1.is_empty());
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn word(&mut self) -> String {
        let len = 1 + self.below(8);
        (0..len)
            .map(|_| char::from(b'a' + self.below(26) as u8))
            .collect()
    }
    fn bytes(&mut self) -> Vec<u8> {
        let len = self.below(300);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// RocketMQ → Kafka → RocketMQ keeps KEYS, TAGS, user properties (last
/// value of a name), the inflated body and bornTimestamp.
#[test]
fn random_rocketmq_round_trips() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..400 {
        let keys: Vec<String> = (0..rng.below(3)).map(|_| rng.word()).collect();
        let mut props: Vec<(String, String)> = Vec::new();
        if !keys.is_empty() {
            props.push(("KEYS".into(), keys.join(" ")));
        }
        if rng.below(2) == 0 {
            props.push(("TAGS".into(), rng.word()));
        }
        for _ in 0..rng.below(4) {
            props.push((rng.word(), rng.word()));
        }
        let props_s = props
            .iter()
            .map(|(k, v)| format!("{k}\u{1}{v}"))
            .collect::<Vec<_>>()
            .join("\u{2}");
        let body = rng.bytes();
        let zlib = case % 2 == 0;
        let stored_body = if zlib {
            zlib_stored(&body)
        } else {
            body.clone()
        };
        let entry = stored(&stored_body, i32::from(zlib), props_s.as_bytes(), case);
        let batch = rocketmq_entry_to_batch(&entry).unwrap();
        let rec = &decode_v2_records(&batch).unwrap()[0];
        assert_eq!(rec.value.as_deref(), Some(&body[..]));
        let back = batch_to_messages(&batch, &place(case)).unwrap();
        let m = decode_message(&back[0].bytes).unwrap().0;
        assert_eq!(&m.body[..], &body[..]);
        assert_eq!(m.born_timestamp, 1_700_000_000_001);
        let orig = decode_message(&entry).unwrap().0;
        for (k, _) in &props {
            assert_eq!(m.property(k), orig.property(k), "case {case} prop {k}");
        }
        let want_tags = orig
            .property("TAGS")
            .map_or(0, |t| java_string_hash(t) as i64);
        assert_eq!(back[0].tags_code, want_tags);
    }
}

/// Kafka → RocketMQ → Kafka keeps key, value, timestamp and headers whose
/// names are distinct and values non-empty UTF-8.
#[test]
fn random_kafka_round_trips() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for case in 0..300 {
        let n = 1 + rng.below(5) as usize;
        let recs: Vec<Record> = (0..n)
            .map(|i| {
                let mut names: Vec<String> = (0..rng.below(4)).map(|_| rng.word()).collect();
                names.sort();
                names.dedup();
                let mut headers: Vec<_> = names
                    .iter()
                    .map(|n| hdr(n, rng.word().as_bytes()))
                    .collect();
                if rng.below(2) == 0 {
                    headers.push(hdr("TAGS", rng.word().as_bytes()));
                }
                Record {
                    timestamp: 1_700_000_000_000 + i as i64 * 7,
                    key: (rng.below(3) != 0).then(|| Bytes::from(rng.word())),
                    value: Some(Bytes::from(rng.bytes())),
                    headers,
                }
            })
            .collect();
        let batch = build_v2_batch(case as i64, &recs);
        let msgs = batch_to_messages(&batch, &place(case)).unwrap();
        assert_eq!(msgs.len(), n);
        for (i, (c, r)) in msgs.iter().zip(&recs).enumerate() {
            assert_eq!(c.queue_offset, case + i as u64);
            assert_eq!(c.tags_code, record_tags_code(r));
            let m = decode_message(&c.bytes).unwrap().0;
            let again = message_to_record(&m);
            assert_eq!(&again, r, "case {case} record {i}");
        }
    }
}

#[test]
fn records_carry_their_own_physical_offsets() {
    let recs: Vec<Record> = (0..4)
        .map(|i| Record {
            timestamp: 1_700_000_000_000 + i,
            key: Some(Bytes::from(format!("key-{i}"))),
            value: Some(Bytes::from(format!("value-{i}"))),
            headers: vec![],
        })
        .collect();
    let batch = build_v2_batch(20, &recs);
    let out = batch_to_messages(&batch, &place(20)).unwrap();
    let host: SocketAddr = HOST.parse().unwrap();
    for (i, c) in out.iter().enumerate() {
        let m = decode_message(&c.bytes).unwrap().0;
        assert_eq!(m.physical_offset, 4096 + i as i64);
        assert_eq!(m.offset_msg_id(), create_message_id(host, 4096 + i as i64));
    }

    // The same batch as a stored entry at P = 9000, queue offset 20.
    let e = kafka_entry(batch, 9000, 20);
    for i in 0..4u64 {
        let c = kafka_record_at(&e, 9000 + i, host).unwrap();
        assert_eq!(c.queue_offset, 20 + i);
        let m = decode_message(&c.bytes).unwrap().0;
        assert_eq!(m.physical_offset, 9000 + i as i64);
        assert_eq!(m.body, format!("value-{i}").into_bytes());
        assert_eq!(m.property("KEYS"), Some(format!("key-{i}").as_str()));
    }
    for phy in [8999, 9004, 9005, 9100, u64::MAX] {
        assert!(kafka_record_at(&e, phy, host).is_none(), "offset {phy}");
    }
}

/// `batch` as the store keeps it: a Kafka entry at CommitLog offset `phy`
/// whose first record has queue offset `base` (topic `Cross`, queue 2).
fn kafka_entry(batch: Bytes, phy: u64, base: u64) -> StoredEntry {
    let kb = KafkaBatch {
        batch,
        index_keys: vec![],
        tags_codes: vec![],
    };
    let count = check_batch(&kb).unwrap();
    let mut buf = vec![0u8; encoded_len(&kb, 5)];
    let p = Placement {
        topic: b"Cross",
        queue_id: 2,
        queue_offset: base,
        phy_offset: phy,
        store_timestamp: 1_700_000_000_500,
        store_host: HOST.parse().unwrap(),
    };
    encode(&mut buf, &kb, &p, count);
    StoredEntry {
        kind: EntryKind::KafkaBatch,
        phy_offset: phy,
        queue_offset: base,
        count,
        tags_code: 0,
        store_timestamp: 1_700_000_000_500,
        bytes: Bytes::from(buf),
    }
}

#[test]
fn converted_batches_are_cached_within_a_byte_budget() {
    use super::cache::ConvertedBatches;
    let host: SocketAddr = HOST.parse().unwrap();
    let recs: Vec<Record> = (0..8)
        .map(|i| Record {
            value: Some(Bytes::from(vec![b'a' + i as u8; 100])),
            ..Record::default()
        })
        .collect();
    let one = kafka_entry(build_v2_batch(0, &recs), 1000, 0);
    let size: usize = super::to_rocketmq::kafka_entry_to_messages(&one, host)
        .unwrap()
        .iter()
        .map(|m| m.bytes.len())
        .sum();
    // Room for two converted batches, not three.
    let cache = ConvertedBatches::new(2 * size + size / 2);
    let a = cache.messages(&one, host).unwrap();
    assert_eq!(a.len(), 8);
    assert_eq!(cache.held_bytes(), size);
    let again = cache.messages(&one, host).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &again), "second read is a hit");
    let two = kafka_entry(build_v2_batch(8, &recs), 5000, 8);
    let three = kafka_entry(build_v2_batch(16, &recs), 9000, 16);
    cache.messages(&two, host).unwrap();
    let c = cache.messages(&three, host).unwrap();
    assert_eq!(c[0].queue_offset, 16);
    assert_eq!(cache.held_bytes(), 2 * size, "the oldest batch was evicted");
    let a2 = cache.messages(&one, host).unwrap();
    assert!(
        !std::sync::Arc::ptr_eq(&a, &a2),
        "evicted batch is converted again"
    );
    assert_eq!(*a, *a2);
    // A batch larger than the whole budget is converted but not kept.
    let tiny = ConvertedBatches::new(size / 2);
    assert_eq!(tiny.messages(&one, host).unwrap().len(), 8);
    assert_eq!(tiny.held_bytes(), 0);
}

#[test]
fn a_compacted_batch_gives_messages_at_their_offset_deltas() {
    // One record at offset delta 2 (what the log cleaner leaves when the
    // records at deltas 0 and 1 were superseded, ADR 010).
    let rec = Record {
        timestamp: 1_700_000_000_010,
        key: Some(Bytes::from_static(b"k")),
        value: Some(Bytes::from_static(b"latest")),
        headers: vec![],
    };
    let mut b = build_v2_batch(10, &[rec]).to_vec();
    // Record at 61: length, attributes, timestamp delta, offset delta.
    assert_eq!(b[64], 0);
    b[64] = 4; // zig-zag 2
    b[23..27].copy_from_slice(&2i32.to_be_bytes());
    let out = batch_to_messages(&b, &place(10)).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].queue_offset, 12);
    let msgs = decode_messages(&out[0].bytes).unwrap();
    let m = &msgs[0];
    assert_eq!((m.queue_offset, m.physical_offset), (12, 4098));
    assert_eq!(&m.body[..], b"latest");
}
