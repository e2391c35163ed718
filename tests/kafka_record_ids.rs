//! Every record of a Kafka-produced batch has its own RocketMQ offset message
//! id (record `i` of the batch stored at CommitLog offset `P` carries
//! `P + i`), and VIEW_MESSAGE_BY_ID and CONSUMER_SEND_MSG_BACK resolve it to
//! that record. End to end against the real `rokka` binary: Kafka Produce of
//! a gzip batch, RocketMQ SEND, PULL / LITE_PULL, VIEW, QUERY, send-back.
//! Raw TCP with the in-repo codecs; every wait is bounded.

mod remoting_support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use remoting_support::{request, send_v2, wait_for, Conn};
use rokka_protocols::kafka::records::{build_v2_batch, Record};
use rokka_protocols::kafka::{Reader, Writer};
use rokka_protocols::remoting::message::{decode_message_id, decode_messages, MessageExt};
use rokka_protocols::remoting::RemotingCommand;

const TOPIC: &str = "XIds";
const SYSTEM_ERROR: i32 = 1;
const QUERY_NOT_FOUND: i32 = 22;

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
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rokka"));
        cmd.args(["--bind-address", "127.0.0.1", "--http-port", "0"])
            .args(["--kafka-port", "0", "--namesrv-port", "0"])
            .args(["--listen-port", "0", "--log-level", "info"])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ROKKA_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        let mut child = cmd.spawn().expect("spawn rokka");
        let pipe = child.stderr.take();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let Some(pipe) = pipe else { return };
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut rokka = Rokka {
            child,
            broker: SocketAddr::from(([127, 0, 0, 1], 0)),
            kafka: SocketAddr::from(([127, 0, 0, 1], 0)),
            _dir: dir,
        };
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
        // Keep draining stderr so the child never blocks on a full pipe.
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
        w.str("ids");
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

    /// Metadata v4 with auto-creation of `topic`.
    fn create_topic(&mut self, topic: &str) {
        let b = self.call(3, 4, |w| {
            w.array(&[topic], |w, t| w.str(t));
            w.bool(true);
        });
        assert!(!b.is_empty());
    }

    /// Produce v3 (acks 1) to partition 0; returns (error, base offset).
    fn produce(&mut self, topic: &str, batch: &Bytes) -> (i16, i64) {
        let b = self.call(0, 3, |w| {
            w.nstr(None);
            w.i16(1);
            w.i32(5000);
            w.array(&[()], |w, _| {
                w.str(topic);
                w.array(&[()], |w, _| {
                    w.i32(0);
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
}

/// Deflate "stored" blocks: a valid stream without a compression library.
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

/// `records` as a gzip-compressed (codec 1) v2 batch.
fn gzip_batch(records: &[Record]) -> Bytes {
    let plain = build_v2_batch(0, records);
    let data = &plain[61..];
    let mut b = plain[..61].to_vec();
    b[21..23].copy_from_slice(&1i16.to_be_bytes());
    b.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    b.extend(deflate_stored(data));
    b.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(b)
}

/// Six records with distinct keys and values.
fn records() -> Vec<Record> {
    (0..6)
        .map(|i| Record {
            timestamp: 1_716_800_000_100 + i,
            key: Some(Bytes::from(format!("rid-key-{i}"))),
            value: Some(Bytes::from(format!(
                "rid-value-{i}-{}",
                "x".repeat(i as usize)
            ))),
            headers: vec![],
        })
        .collect()
}

/// PULL_MESSAGE (11) or LITE_PULL_MESSAGE (361) of queue 0 from offset 0.
fn pull_with(c: &mut Conn, code: i32) -> Vec<MessageExt> {
    let p = c.call(request(
        code,
        &[
            ("consumerGroup", "cg-ids"),
            ("topic", TOPIC),
            ("queueId", "0"),
            ("queueOffset", "0"),
            ("maxMsgNums", "32"),
            ("sysFlag", "4"),
            ("commitOffset", "0"),
            ("suspendTimeoutMillis", "0"),
            ("subscription", "*"),
            ("subVersion", "0"),
            ("expressionType", "TAG"),
        ],
        b"",
    ));
    assert_eq!(p.code, 0, "pull {code}: {:?}", p.remark);
    decode_messages(&p.body).unwrap()
}

fn view(c: &mut Conn, offset: i64) -> RemotingCommand {
    c.call(request(
        33,
        &[("offset", &offset.to_string()), ("topic", TOPIC)],
        b"",
    ))
}

fn send_back(c: &mut Conn, offset: i64, delay_level: &str, max: &str) -> RemotingCommand {
    c.call(request(
        36,
        &[
            ("offset", &offset.to_string()),
            ("group", "gr-ids"),
            ("delayLevel", delay_level),
            ("maxReconsumeTimes", max),
        ],
        b"",
    ))
}

/// Asserts that `got` is the message `want` as pulled.
fn same_message(got: &MessageExt, want: &MessageExt) {
    assert_eq!(got.body, want.body);
    assert_eq!(got.property("KEYS"), want.property("KEYS"));
    assert_eq!(
        (got.topic.as_str(), got.queue_id, got.queue_offset),
        (want.topic.as_str(), want.queue_id, want.queue_offset)
    );
    assert_eq!(got.physical_offset, want.physical_offset);
    assert_eq!(got.offset_msg_id(), want.offset_msg_id());
}

#[test]
fn each_kafka_record_has_its_own_viewable_message_id() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    kc.create_topic(TOPIC);
    // A one-record batch, the compressed batch, then a RocketMQ message.
    let one = build_v2_batch(
        0,
        &[Record {
            key: Some(Bytes::from_static(b"solo")),
            value: Some(Bytes::from_static(b"solo-value")),
            ..Record::default()
        }],
    );
    assert_eq!(kc.produce(TOPIC, &one), (0, 0));
    let recs = records();
    assert_eq!(kc.produce(TOPIC, &gzip_batch(&recs)), (0, 1));
    let mut rc = Conn::open(r.broker);
    let sent = send_v2(&mut rc, TOPIC, 0, "KEYS\u{1}rmq-key", b"rocketmq body");
    assert_eq!(sent.code, 0, "{:?}", sent.remark);

    let pulled = pull_with(&mut rc, 11);
    assert_eq!(pulled.len(), 8);
    for (i, m) in pulled.iter().enumerate() {
        assert_eq!(m.queue_offset, i as i64);
    }
    for (m, rec) in pulled[1..7].iter().zip(&recs) {
        assert_eq!(Some(&m.body[..]), rec.value.as_deref());
        assert_eq!(m.property("KEYS").map(str::as_bytes), rec.key.as_deref());
    }
    // Record i of the batch at P carries P + i: ids are all distinct.
    let p = pulled[1].physical_offset;
    for (i, m) in pulled[1..7].iter().enumerate() {
        assert_eq!(m.physical_offset, p + i as i64);
    }
    let ids: HashSet<String> = pulled.iter().map(MessageExt::offset_msg_id).collect();
    assert_eq!(ids.len(), pulled.len(), "one offset message id per message");
    // LITE_PULL shows the same ids.
    let lite = pull_with(&mut rc, 361);
    let lite_ids: Vec<String> = lite.iter().map(MessageExt::offset_msg_id).collect();
    let pull_ids: Vec<String> = pulled.iter().map(MessageExt::offset_msg_id).collect();
    assert_eq!(lite_ids, pull_ids);

    // VIEW_MESSAGE_BY_ID with the decoded id gives back exactly that message.
    for m in &pulled {
        let (host, offset) = decode_message_id(&m.offset_msg_id()).unwrap();
        assert_eq!(host, r.broker, "the id names this broker");
        let v = view(&mut rc, offset);
        assert_eq!(v.code, 0, "view {offset}: {:?}", v.remark);
        let got = decode_messages(&v.body).unwrap();
        assert_eq!(got.len(), 1, "exactly one message for {offset}");
        same_message(&got[0], m);
    }

    // Offsets inside the batch past its record count, inside the RocketMQ
    // entry, or anywhere else name no message.
    let rmq = pulled[7].physical_offset;
    for offset in [p + 6, p + 7, p + 40, rmq + 1, rmq + 17, 987_654_321, -5] {
        let v = view(&mut rc, offset);
        assert_eq!(v.code, SYSTEM_ERROR, "offset {offset}");
        assert!(
            v.remark
                .as_deref()
                .is_some_and(|s| s.contains("can not find message by the offset")),
            "offset {offset}: {:?}",
            v.remark
        );
    }

    // A Java admin first asks QUERY_MESSAGE with the id as unique key; the
    // not-found answer lets it fall back to the offset id.
    let q = rc.call(request(
        12,
        &[
            ("topic", TOPIC),
            ("key", &pulled[3].offset_msg_id()),
            ("maxNum", "32"),
            ("beginTimestamp", "0"),
            ("endTimestamp", &i64::MAX.to_string()),
            ("_UNIQUE_KEY_QUERY", "true"),
        ],
        b"",
    ));
    assert_eq!(q.code, QUERY_NOT_FOUND);
    // QUERY_MESSAGE by key returns the record with the same id as a pull.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let q = rc.call(request(
            12,
            &[
                ("topic", TOPIC),
                ("key", "rid-key-4"),
                ("maxNum", "32"),
                ("beginTimestamp", "0"),
                ("endTimestamp", &i64::MAX.to_string()),
            ],
            b"",
        ));
        if q.code == 0 {
            let got = decode_messages(&q.body).unwrap();
            assert_eq!(got.len(), 1);
            same_message(&got[0], &pulled[5]);
            break;
        }
        assert!(Instant::now() < deadline, "key never found");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn kafka_records_are_sent_back_by_their_offset() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    kc.create_topic(TOPIC);
    let recs = records();
    assert_eq!(kc.produce(TOPIC, &gzip_batch(&recs)), (0, 0));
    let mut rc = Conn::open(r.broker);
    let pulled = pull_with(&mut rc, 11);
    assert_eq!(pulled.len(), 6);

    // Reconsume count at the maximum: straight to the DLQ.
    let m = &pulled[3];
    let back = send_back(&mut rc, m.physical_offset, "0", "0");
    assert_eq!(back.code, 0, "{:?}", back.remark);
    let dlq = wait_for(&mut rc, "%DLQ%gr-ids", 0, Duration::from_secs(10));
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].body, m.body);
    assert_eq!(dlq[0].property("KEYS"), Some("rid-key-3"));
    assert_eq!(dlq[0].property("RETRY_TOPIC"), Some(TOPIC));
    assert_eq!(
        dlq[0].property("ORIGIN_MESSAGE_ID"),
        Some(m.offset_msg_id().as_str())
    );

    // A retry copy of another record after delay level 1 (1 s).
    let m = &pulled[5];
    let back = send_back(&mut rc, m.physical_offset, "1", "16");
    assert_eq!(back.code, 0, "{:?}", back.remark);
    let retry = wait_for(&mut rc, "%RETRY%gr-ids", 0, Duration::from_secs(15));
    assert_eq!(retry.len(), 1);
    assert_eq!((&retry[0].body, retry[0].reconsume_times), (&m.body, 1));
    assert_eq!(retry[0].property("KEYS"), Some("rid-key-5"));

    // An offset past the record count is refused.
    let p = pulled[0].physical_offset;
    let back = send_back(&mut rc, p + 6, "0", "0");
    assert_eq!(back.code, SYSTEM_ERROR);
}
