//! Cross-protocol end-to-end tests against the real `rokka` binary (issue
//! 5, docs/mapping.md): RocketMQ SEND_MESSAGE_V2 → Kafka Fetch, Kafka
//! Produce (gzip batch) → RocketMQ PULL with tag filters and QUERY_MESSAGE
//! by key, and one committed-offset table for both ecosystems' groups.
//! Raw TCP with the in-repo codecs; every wait is bounded.

mod remoting_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use remoting_support::{pull, request, Conn};
use rokka_protocols::kafka::records::{build_v2_batch, decode_v2_records, Record};
use rokka_protocols::kafka::{Reader, Writer};
use rokka_protocols::remoting::message::{decode_messages, MessageExt};

/// A running rokka with its remoting and Kafka listeners.
struct Rokka {
    child: Child,
    broker: SocketAddr,
    kafka: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Rokka {
    fn start() -> Rokka {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_rokka"))
            .args(["--bind-address", "127.0.0.1", "--http-port", "0"])
            .args(["--kafka-port", "0", "--namesrv-port", "0"])
            .args(["--listen-port", "0", "--log-level", "info"])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rokka");
        let pipe = child.stderr.take();
        let mut rokka = Rokka {
            child,
            broker: SocketAddr::from(([127, 0, 0, 1], 0)),
            kafka: SocketAddr::from(([127, 0, 0, 1], 0)),
            _dir: dir,
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let Some(pipe) = pipe else { return };
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let (mut broker, mut kafka) = (None, None);
        while broker.is_none() || kafka.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).expect("rokka did not log listeners");
            let addr = |marker: &str| {
                line.split_once(marker)
                    .and_then(|(_, r)| r.split_whitespace().next())
                    .and_then(|a| a.parse::<SocketAddr>().ok())
            };
            broker = broker.or(addr("remoting listening on "));
            kafka = kafka.or(addr("kafka listening on "));
        }
        std::thread::spawn(move || while rx.recv().is_ok() {});
        rokka.broker = broker.unwrap();
        rokka.kafka = kafka.unwrap();
        rokka
    }
}

impl Drop for Rokka {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking Kafka connection (request header v1).
struct KConn {
    s: TcpStream,
    corr: i32,
}

impl KConn {
    fn open(addr: SocketAddr) -> KConn {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        KConn { s, corr: 0 }
    }
    fn call(&mut self, key: i16, version: i16, body: impl FnOnce(&mut Writer)) -> Bytes {
        self.corr += 1;
        let mut w = Writer::new(false);
        w.i16(key);
        w.i16(version);
        w.i32(self.corr);
        w.str("cross");
        body(&mut w);
        let b = w.to_bytes();
        let mut f = (b.len() as i32).to_be_bytes().to_vec();
        f.extend_from_slice(&b);
        self.s.write_all(&f).unwrap();
        let mut n = [0u8; 4];
        self.s.read_exact(&mut n).unwrap();
        let mut b = vec![0u8; i32::from_be_bytes(n) as usize];
        self.s.read_exact(&mut b).unwrap();
        assert_eq!(i32::from_be_bytes(b[..4].try_into().unwrap()), self.corr);
        Bytes::from(b).slice(4..)
    }
}

/// Metadata v4 with auto-creation; returns the partition count.
fn metadata(c: &mut KConn, topic: &str) -> usize {
    let b = c.call(3, 4, |w| {
        w.array(&[topic], |w, t| w.str(t));
        w.bool(true);
    });
    let mut r = Reader::new(&b, 0, false);
    r.i32("throttle").unwrap();
    r.array("brokers", |r| {
        r.i32("id")?;
        r.str("host")?;
        r.i32("port")?;
        r.nstr("rack")
    })
    .unwrap();
    r.nstr("cluster").unwrap();
    r.i32("controller").unwrap();
    let t = r
        .array("topics", |r| {
            r.i16("err")?;
            r.str("name")?;
            r.bool("internal")?;
            r.array("parts", |r| {
                r.i16("e")?;
                r.i32("p")?;
                r.i32("leader")?;
                r.array("replicas", |r| r.i32("n"))?;
                r.array("isr", |r| r.i32("n"))
            })
        })
        .unwrap();
    t[0].len()
}

/// Produce v3 (acks 1); returns (error, base offset).
fn produce(c: &mut KConn, topic: &str, partition: i32, batch: &Bytes) -> (i16, i64) {
    let b = c.call(0, 3, |w| {
        w.nstr(None);
        w.i16(1);
        w.i32(5000);
        w.array(&[()], |w, _| {
            w.str(topic);
            w.array(&[()], |w, _| {
                w.i32(partition);
                w.bytes(batch);
            });
        });
    });
    let mut r = Reader::new(&b, 0, false);
    let res = r
        .array("topics", |r| {
            r.str("name")?;
            r.array("parts", |r| {
                r.i32("p")?;
                let e = r.i16("e")?;
                let o = r.i64("o")?;
                r.i64("t")?;
                Ok((e, o))
            })
        })
        .unwrap();
    res[0][0]
}

/// Fetch v4 of one partition from `offset`; returns (error, records).
fn fetch(c: &mut KConn, topic: &str, partition: i32, offset: i64) -> (i16, Vec<Record>) {
    let b = c.call(1, 4, |w| {
        w.i32(-1);
        w.i32(0);
        w.i32(1);
        w.i32(1 << 20);
        w.i8(0);
        w.array(&[()], |w, _| {
            w.str(topic);
            w.array(&[()], |w, _| {
                w.i32(partition);
                w.i64(offset);
                w.i32(1 << 20);
            });
        });
    });
    let mut r = Reader::new(&b, 0, false);
    r.i32("throttle").unwrap();
    let res = r
        .array("topics", |r| {
            r.str("t")?;
            r.array("parts", |r| {
                r.i32("p")?;
                let e = r.i16("e")?;
                r.i64("hw")?;
                r.i64("lso")?;
                r.array("aborted", |r| {
                    r.i64("pid")?;
                    r.i64("o")
                })?;
                Ok((e, r.bytes("records")?))
            })
        })
        .unwrap();
    let (err, records) = res[0][0].clone();
    let mut out = Vec::new();
    let mut at = 0;
    while at + 12 <= records.len() {
        let len = i32::from_be_bytes(records[at + 8..at + 12].try_into().unwrap()) as usize;
        let base = i64::from_be_bytes(records[at..at + 8].try_into().unwrap());
        assert_eq!(base, offset + out.len() as i64, "baseOffset = queue offset");
        out.extend(decode_v2_records(&records[at..at + 12 + len]).unwrap());
        at += 12 + len;
    }
    (err, out)
}

/// Deflate stored blocks (no compression library in this crate's deps).
fn deflate_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
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
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    out.extend(deflate_stored(data));
    let (mut a, mut b) = (1u32, 0u32);
    for x in data {
        a = (a + u32::from(*x)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(deflate_stored(data));
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32c(b: &[u8]) -> u32 {
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

/// `records` as a gzip-compressed v2 batch.
fn gzip_batch(records: &[Record]) -> Bytes {
    let plain = build_v2_batch(0, records);
    let mut b = plain[..61].to_vec();
    b[21..23].copy_from_slice(&1i16.to_be_bytes());
    b.extend(gzip(&plain[61..]));
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(b)
}

/// SEND_MESSAGE_V2 with an explicit sysFlag.
fn send(c: &mut Conn, topic: &str, queue: i32, sys_flag: i32, props: &str, body: &[u8]) -> i32 {
    let (q, f) = (queue.to_string(), sys_flag.to_string());
    let req = request(
        310,
        &[
            ("a", "pg"),
            ("b", topic),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", &q),
            ("f", &f),
            ("g", "1716800000000"),
            ("h", "0"),
            ("i", props),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-a"),
        ],
        body,
    );
    c.call(req).code
}

fn header<'a>(r: &'a Record, name: &str) -> Option<&'a [u8]> {
    r.headers
        .iter()
        .find(|(k, _)| &k[..] == name.as_bytes())
        .and_then(|(_, v)| v.as_deref())
}

fn hdr(k: &str, v: &str) -> (Bytes, Option<Bytes>) {
    (
        Bytes::copy_from_slice(k.as_bytes()),
        Some(Bytes::copy_from_slice(v.as_bytes())),
    )
}

#[test]
fn rocketmq_send_is_read_by_kafka_fetch() {
    let r = Rokka::start();
    let mut rc = Conn::open(r.broker);
    let body: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let props = "KEYS\u{1}k1 k2\u{2}TAGS\u{1}TagA\u{2}color\u{1}red\u{2}UNIQ_KEY\u{1}0A0B0C\u{2}WAIT\u{1}true";
    assert_eq!(send(&mut rc, "XR", 0, 1, props, &zlib(&body)), 0);
    assert_eq!(send(&mut rc, "XR", 0, 0, "", b"plain"), 0);
    let mut kc = KConn::open(r.kafka);
    assert_eq!(metadata(&mut kc, "XR"), 4);
    let (err, recs) = fetch(&mut kc, "XR", 0, 0);
    assert_eq!(err, 0);
    assert_eq!(recs.len(), 2);
    let a = &recs[0];
    assert_eq!(a.key.as_deref(), Some(&b"k1 k2"[..]));
    assert_eq!(a.value.as_deref(), Some(&body[..]), "zlib body inflated");
    assert_eq!(a.timestamp, 1_716_800_000_000);
    assert_eq!(header(a, "TAGS"), Some(&b"TagA"[..]));
    assert_eq!(header(a, "color"), Some(&b"red"[..]));
    assert_eq!(header(a, "UNIQ_KEY"), Some(&b"0A0B0C"[..]));
    assert_eq!(header(a, "WAIT"), None);
    assert_eq!(header(a, "KEYS"), None);
    let b = &recs[1];
    assert_eq!(
        (b.key.as_deref(), b.value.as_deref()),
        (None, Some(&b"plain"[..]))
    );
    assert!(b.headers.is_empty());
    // from the second record on
    let (_, tail) = fetch(&mut kc, "XR", 0, 1);
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].value.as_deref(), Some(&b"plain"[..]));
}

fn kafka_records() -> Vec<Record> {
    vec![
        Record {
            timestamp: 1_716_800_000_001,
            key: Some(Bytes::from_static(b"order-1 alt")),
            value: Some(Bytes::from_static(b"first")),
            headers: vec![hdr("TAGS", "TagB"), hdr("p", "1"), hdr("p", "2")],
        },
        Record {
            timestamp: 1_716_800_000_002,
            key: Some(Bytes::from_static(b"order-2")),
            value: Some(Bytes::from_static(b"second")),
            headers: vec![hdr("TAGS", "TagC")],
        },
        Record {
            timestamp: 1_716_800_000_003,
            key: None,
            value: None,
            headers: vec![(
                Bytes::from_static(b"bin"),
                Some(Bytes::from_static(b"\xff")),
            )],
        },
    ]
}

fn pulled(c: &mut Conn, topic: &str, queue: u32, offset: u64, sub: &str) -> Vec<MessageExt> {
    let p = pull(c, topic, queue, offset, 4, sub, 0);
    if p.code == 0 {
        decode_messages(&p.body).unwrap()
    } else {
        Vec::new()
    }
}

#[test]
fn kafka_gzip_batch_is_pulled_and_queried_by_rocketmq() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    assert!(metadata(&mut kc, "XK") >= 1);
    // one record first so the batch starts at offset 1
    let one = build_v2_batch(0, &[Record::default()]);
    assert_eq!(produce(&mut kc, "XK", 0, &one), (0, 0));
    assert_eq!(
        produce(&mut kc, "XK", 0, &gzip_batch(&kafka_records())),
        (0, 1)
    );
    let mut rc = Conn::open(r.broker);
    let all = pulled(&mut rc, "XK", 0, 1, "*");
    assert_eq!(
        all.len(),
        3,
        "records before the requested offset are left out"
    );
    let m = &all[0];
    assert_eq!((m.queue_offset, m.queue_id), (1, 0));
    assert_eq!(m.topic, "XK");
    assert_eq!(&m.body[..], b"first");
    assert_eq!(m.property("KEYS"), Some("order-1 alt"));
    assert_eq!(m.property("TAGS"), Some("TagB"));
    assert_eq!(m.property("p"), Some("2"));
    assert_eq!(m.born_timestamp, 1_716_800_000_001);
    assert_eq!(all[1].queue_offset, 2);
    assert_eq!(&all[1].body[..], b"second");
    assert_eq!(all[1].property("TAGS"), Some("TagC"));
    assert_eq!(all[2].queue_offset, 3);
    assert!(all[2].body.is_empty(), "null value → empty body");
    assert_eq!(all[2].property("bin"), None, "non-UTF-8 header dropped");
    // the tag filter selects by each record's own tag
    let tagged: Vec<_> = pulled(&mut rc, "XK", 0, 1, "TagC")
        .iter()
        .map(|m| m.queue_offset)
        .collect();
    assert_eq!(tagged, vec![2]);
    let tagged: Vec<_> = pulled(&mut rc, "XK", 0, 0, "TagB || TagC")
        .iter()
        .map(|m| m.queue_offset)
        .collect();
    assert_eq!(tagged, vec![1, 2]);
    assert_eq!(pulled(&mut rc, "XK", 0, 2, "*").len(), 2);
    // query by key finds the Kafka records, each space-separated word indexed
    let deadline = Instant::now() + Duration::from_secs(10);
    for (key, want) in [
        ("alt", "first"),
        ("order-1", "first"),
        ("order-2", "second"),
    ] {
        loop {
            let q = rc.call(request(
                12,
                &[
                    ("topic", "XK"),
                    ("key", key),
                    ("maxNum", "32"),
                    ("beginTimestamp", "0"),
                    ("endTimestamp", &i64::MAX.to_string()),
                ],
                b"",
            ));
            if q.code == 0 {
                let got = decode_messages(&q.body).unwrap();
                assert_eq!(got.len(), 1, "key {key}");
                assert_eq!(&got[0].body[..], want.as_bytes());
                break;
            }
            assert!(Instant::now() < deadline, "key {key} never found");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn consumer_offsets_are_shared_between_ecosystems() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    assert!(metadata(&mut kc, "XO") >= 1);
    // Kafka OffsetCommit v2 (no members: generation -1, empty member id)
    let b = kc.call(8, 2, |w| {
        w.str("shared");
        w.i32(-1);
        w.str("");
        w.i64(-1);
        w.array(&[()], |w, _| {
            w.str("XO");
            w.array(&[()], |w, _| {
                w.i32(0);
                w.i64(17);
                w.nstr(Some(""));
            });
        });
    });
    let mut rd = Reader::new(&b, 0, false);
    let codes = rd
        .array("t", |r| {
            r.str("n")?;
            r.array("p", |r| {
                r.i32("p")?;
                r.i16("e")
            })
        })
        .unwrap();
    assert_eq!(codes, vec![vec![0]]);
    let mut rc = Conn::open(r.broker);
    let q = &[
        ("consumerGroup", "shared"),
        ("topic", "XO"),
        ("queueId", "0"),
    ];
    let resp = rc.call(request(14, q, b""));
    assert_eq!((resp.code, resp.ext("offset")), (0, Some("17")));
    // RocketMQ UPDATE_CONSUMER_OFFSET → Kafka OffsetFetch v1
    let upd = rc.call(request(
        15,
        &[
            ("consumerGroup", "shared"),
            ("topic", "XO"),
            ("queueId", "0"),
            ("commitOffset", "23"),
        ],
        b"",
    ));
    assert_eq!(upd.code, 0);
    let b = kc.call(9, 1, |w| {
        w.str("shared");
        w.array(&[()], |w, _| {
            w.str("XO");
            w.array(&[0], |w, p| w.i32(*p));
        });
    });
    let mut rd = Reader::new(&b, 0, false);
    let got = rd
        .array("t", |r| {
            r.str("n")?;
            r.array("p", |r| {
                r.i32("p")?;
                let o = r.i64("o")?;
                r.nstr("m")?;
                r.i16("e")?;
                Ok(o)
            })
        })
        .unwrap();
    assert_eq!(got, vec![vec![23]]);
}

/// CreatePartitions v1: the error code for growing `topic` to `count`.
fn create_partitions(c: &mut KConn, topic: &str, count: i32) -> i16 {
    use rokka_protocols::kafka::create_partitions::{
        decode_response, CreatePartitionsRequest, CreatePartitionsTopic,
    };
    let req = CreatePartitionsRequest {
        topics: vec![CreatePartitionsTopic {
            name: topic.to_owned(),
            count,
            has_assignments: false,
        }],
        validate_only: false,
    };
    let b = c.call(37, 1, |w| req.encode(w, 1));
    let res = decode_response(&mut Reader::new(&b, 0, false), 1).unwrap();
    assert_eq!(res.len(), 1);
    res[0].1
}

/// (readQueueNums, writeQueueNums) of `topic` in the broker's
/// GET_ALL_TOPIC_CONFIG reply (what it registers with NameServers).
fn route_queues(c: &mut Conn, topic: &str) -> (u64, u64) {
    let resp = c.call(request(21, &[], b""));
    assert_eq!(resp.code, 0, "topic configs: {:?}", resp.remark);
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    let t = &v["topicConfigTable"][topic];
    let n = |f: &str| {
        t[f].as_u64()
            .unwrap_or_else(|| panic!("{f} of {topic} in {v}"))
    };
    (n("readQueueNums"), n("writeQueueNums"))
}

/// UPDATE_AND_CREATE_TOPIC with explicit queue counts; returns the code.
fn update_topic(c: &mut Conn, topic: &str, read: u32, write: u32) -> i32 {
    let (r, w) = (read.to_string(), write.to_string());
    let ext = [
        ("topic", topic),
        ("defaultTopic", "TBW102"),
        ("readQueueNums", r.as_str()),
        ("writeQueueNums", w.as_str()),
        ("perm", "6"),
        ("topicFilterType", "SINGLE_TAG"),
    ];
    c.call(request(17, &ext, b"")).code
}

#[test]
fn topic_growth_is_consistent_between_ecosystems() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    let mut rc = Conn::open(r.broker);
    // Created through RocketMQ with 2 queues: Kafka sees 2 partitions.
    assert_eq!(update_topic(&mut rc, "grow", 2, 2), 0);
    assert_eq!(metadata(&mut kc, "grow"), 2);
    // Kafka CreatePartitions to 5: RocketMQ routes 5 read and 5 write queues.
    assert_eq!(create_partitions(&mut kc, "grow", 5), 0);
    assert_eq!(route_queues(&mut rc, "grow"), (5, 5));
    assert_eq!(metadata(&mut kc, "grow"), 5);
    // A message sent by RocketMQ to the new queue 4 is fetched by Kafka.
    assert_eq!(send(&mut rc, "grow", 4, 0, "KEYS\u{1}k4", b"on-queue-4"), 0);
    let (err, recs) = fetch(&mut kc, "grow", 4, 0);
    assert_eq!(err, 0);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].value.as_deref(), Some(&b"on-queue-4"[..]));
    // RocketMQ grows it to 8: Kafka sees 8, and produces to partition 7
    // are pulled by RocketMQ from queue 7.
    assert_eq!(update_topic(&mut rc, "grow", 8, 8), 0);
    assert_eq!(metadata(&mut kc, "grow"), 8);
    let rec = Record {
        key: Some(Bytes::from_static(b"k7")),
        value: Some(Bytes::from_static(b"on-partition-7")),
        ..Record::default()
    };
    let (err, base) = produce(&mut kc, "grow", 7, &gzip_batch(&[rec]));
    assert_eq!((err, base), (0, 0));
    let got = pulled(&mut rc, "grow", 7, 0, "*");
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0].body[..], b"on-partition-7");
    // Draining the RocketMQ way (writeQueueNums lowered first) keeps every
    // queue visible to Kafka: partitions = max(read, write).
    assert_eq!(update_topic(&mut rc, "grow", 8, 6), 0);
    assert_eq!(route_queues(&mut rc, "grow"), (8, 6));
    assert_eq!(metadata(&mut kc, "grow"), 8);
    let (err, recs) = fetch(&mut kc, "grow", 7, 0);
    assert_eq!((err, recs.len()), (0, 1));
    // Shrinking below the partition count is refused (INVALID_PARAMETER),
    // and so is a CreatePartitions that does not grow (INVALID_PARTITIONS).
    assert_eq!(update_topic(&mut rc, "grow", 4, 4), 29);
    assert_eq!(metadata(&mut kc, "grow"), 8);
    assert_eq!(create_partitions(&mut kc, "grow", 8), 37);
    // Growing from Kafka sets both RocketMQ counts again.
    assert_eq!(create_partitions(&mut kc, "grow", 10), 0);
    assert_eq!(route_queues(&mut rc, "grow"), (10, 10));
}

/// PULL_MESSAGE with an explicit maxMsgNums: (code, nextBeginOffset, messages).
fn pull_max(
    c: &mut Conn,
    topic: &str,
    offset: u64,
    max: u32,
    sub: &str,
) -> (i32, u64, Vec<MessageExt>) {
    let (o, m) = (offset.to_string(), max.to_string());
    let resp = c.call(request(
        11,
        &[
            ("consumerGroup", "cg-max"),
            ("topic", topic),
            ("queueId", "0"),
            ("queueOffset", &o),
            ("maxMsgNums", &m),
            ("sysFlag", "4"),
            ("commitOffset", "0"),
            ("suspendTimeoutMillis", "0"),
            ("subscription", sub),
            ("subVersion", "0"),
            ("expressionType", "TAG"),
        ],
        b"",
    ));
    let next = resp
        .ext("nextBeginOffset")
        .and_then(|n| n.parse().ok())
        .unwrap();
    let msgs = if resp.code == 0 {
        decode_messages(&resp.body).unwrap()
    } else {
        Vec::new()
    };
    (resp.code, next, msgs)
}

#[test]
fn rocketmq_pull_of_a_kafka_batch_returns_at_most_max_msg_nums() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    assert!(metadata(&mut kc, "XM") >= 1);
    let records: Vec<Record> = (0..10)
        .map(|i| Record {
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(format!("v{i}"))),
            headers: vec![hdr("TAGS", if i % 2 == 0 { "Even" } else { "Odd" })],
            ..Record::default()
        })
        .collect();
    assert_eq!(produce(&mut kc, "XM", 0, &gzip_batch(&records)), (0, 0));
    let mut rc = Conn::open(r.broker);
    // 4 + 4 + 2: each pull stops inside the batch and the next resumes there.
    let mut offset = 0;
    let mut bodies = Vec::new();
    for want in [4usize, 4, 2] {
        let (code, next, msgs) = pull_max(&mut rc, "XM", offset, 4, "*");
        assert_eq!((code, msgs.len()), (0, want), "pull at {offset}");
        assert_eq!(msgs[0].queue_offset, offset as i64);
        assert_eq!(next, offset + want as u64);
        bodies.extend(
            msgs.iter()
                .map(|m| String::from_utf8_lossy(&m.body).into_owned()),
        );
        offset = next;
    }
    let want: Vec<String> = (0..10).map(|i| format!("v{i}")).collect();
    assert_eq!(bodies, want);
    // With a tag filter the cap counts returned messages; skipped records
    // are passed over: Odd from 0 gives v1 v3 v5 v7 and resumes at 8.
    let (code, next, msgs) = pull_max(&mut rc, "XM", 0, 4, "Odd");
    assert_eq!(code, 0);
    let got: Vec<_> = msgs
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    assert_eq!(got, ["v1", "v3", "v5", "v7"]);
    assert_eq!(next, 8);
}
