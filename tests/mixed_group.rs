//! One consumer group, one ecosystem at a time (ADR 006), end to end against
//! the real `rokka` binary: while RocketMQ consumers hold a group, Kafka
//! JoinGroup gets INCONSISTENT_GROUP_PROTOCOL and OffsetCommit
//! UNKNOWN_MEMBER_ID; while Kafka members hold it, RocketMQ HEART_BEAT does
//! not register the consumer and UPDATE_CONSUMER_OFFSET is refused; as soon
//! as the owner's members are gone the other ecosystem joins and resumes
//! from the shared committed offsets. Raw TCP with the in-repo codecs;
//! every wait is bounded.

mod remoting_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use remoting_support::{request, Conn};
use rokka_protocols::kafka::{Reader, Writer};
use rokka_protocols::remoting::RemotingCommand;

const WAIT: Duration = Duration::from_secs(20);

/// A running rokka with its remoting, Kafka and HTTP listeners and its log.
struct Rokka {
    child: Child,
    broker: SocketAddr,
    kafka: SocketAddr,
    http: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
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
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let keep = Arc::clone(&log);
        std::thread::spawn(move || {
            let Some(pipe) = pipe else { return };
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                keep.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + WAIT;
        let (mut broker, mut kafka, mut http) = (None, None, None);
        while broker.is_none() || kafka.is_none() || http.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).expect("rokka did not log listeners");
            let addr = |marker: &str| {
                line.split_once(marker)
                    .and_then(|(_, r)| r.split_whitespace().next())
                    .and_then(|a| a.parse::<SocketAddr>().ok())
            };
            broker = broker.or(addr("remoting listening on "));
            kafka = kafka.or(addr("kafka listening on "));
            http = http.or(addr("http listening on "));
        }
        Rokka {
            child,
            broker: broker.unwrap(),
            kafka: kafka.unwrap(),
            http: http.unwrap(),
            log,
            _dir: dir,
        }
    }

    /// Waits (bounded) for a log line containing every one of `parts`.
    fn logged(&self, parts: &[&str]) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(l) = self
                .log
                .lock()
                .unwrap()
                .iter()
                .find(|l| parts.iter().all(|p| l.contains(p)))
            {
                return l.clone();
            }
            assert!(Instant::now() < deadline, "no log line with {parts:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The `/metrics` text.
    fn metrics(&self) -> String {
        let mut s = TcpStream::connect_timeout(&self.http, WAIT).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        write!(
            s,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").expect("response head");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        body.to_string()
    }
}

impl Drop for Rokka {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn has(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "missing `{line}` in\n{text}"
    );
}

/// A blocking Kafka connection (request header v1).
struct KConn {
    s: TcpStream,
    corr: i32,
}

impl KConn {
    fn open(addr: SocketAddr) -> KConn {
        let s = TcpStream::connect_timeout(&addr, WAIT).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        KConn { s, corr: 0 }
    }

    fn call(&mut self, key: i16, version: i16, body: impl FnOnce(&mut Writer)) -> Bytes {
        self.corr += 1;
        let mut w = Writer::new(false);
        w.i16(key);
        w.i16(version);
        w.i32(self.corr);
        w.str("mixed");
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

/// Metadata v1 with auto-creation of `topic`.
fn metadata(c: &mut KConn, topic: &str) {
    c.call(3, 4, |w| {
        w.array(&[topic], |w, t| w.str(t));
        w.bool(true);
    });
}

/// JoinGroup v0 or v5; returns (error, generation, member id).
fn join(c: &mut KConn, version: i16, group: &str, member: &str) -> (i16, i32, String) {
    let b = c.call(11, version, |w| {
        w.str(group);
        w.i32(10_000);
        if version >= 1 {
            w.i32(10_000);
        }
        w.str(member);
        if version >= 5 {
            w.nstr(None);
        }
        w.str("consumer");
        w.array(&[()], |w, _| {
            w.str("range");
            w.bytes(b"meta");
        });
    });
    let mut r = Reader::new(&b, 0, false);
    if version >= 2 {
        r.i32("throttle").unwrap();
    }
    let e = r.i16("e").unwrap();
    let generation = r.i32("gen").unwrap();
    r.str("proto").unwrap();
    r.str("leader").unwrap();
    let me = r.str("member").unwrap();
    (e, generation, me)
}

/// OffsetCommit v2 of one partition of `topic`; returns its error code.
fn commit(
    c: &mut KConn,
    group: &str,
    generation: i32,
    member: &str,
    topic: &str,
    offset: i64,
) -> i16 {
    let b = c.call(8, 2, |w| {
        w.str(group);
        w.i32(generation);
        w.str(member);
        w.i64(-1);
        w.array(&[()], |w, _| {
            w.str(topic);
            w.array(&[()], |w, _| {
                w.i32(0);
                w.i64(offset);
                w.nstr(Some(""));
            });
        });
    });
    let mut r = Reader::new(&b, 0, false);
    let codes = r
        .array("t", |r| {
            r.str("n")?;
            r.array("p", |r| {
                r.i32("p")?;
                r.i16("e")
            })
        })
        .unwrap();
    codes[0][0]
}

/// LeaveGroup v0; returns the error code.
fn leave(c: &mut KConn, group: &str, member: &str) -> i16 {
    let b = c.call(13, 0, |w| {
        w.str(group);
        w.str(member);
    });
    Reader::new(&b, 0, false).i16("e").unwrap()
}

/// HEART_BEAT registering `client` as a consumer of each of `groups`.
fn heartbeat(c: &mut Conn, client: &str, groups: &[&str]) -> RemotingCommand {
    let consumers: Vec<String> = groups
        .iter()
        .map(|g| {
            format!(
                r#"{{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"{g}","messageModel":"CLUSTERING","subscriptionDataSet":[{{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1,"tagsSet":[],"topic":"MG"}}],"unitMode":false}}"#
            )
        })
        .collect();
    let hb = format!(
        r#"{{"clientID":"{client}","consumerDataSet":[{}],"producerDataSet":[{{"groupName":"CLIENT_INNER_PRODUCER"}}]}}"#,
        consumers.join(",")
    );
    c.call(request(34, &[], hb.as_bytes()))
}

/// GET_CONSUMER_LIST_BY_GROUP: the listed client ids, or the error code.
fn consumer_list(c: &mut Conn, group: &str) -> Result<Vec<String>, i32> {
    let r = c.call(request(38, &[("consumerGroup", group)], b""));
    if r.code != 0 {
        return Err(r.code);
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    Ok(v["consumerIdList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect())
}

/// UPDATE_CONSUMER_OFFSET (two-way here, to see the answer).
fn rmq_commit(c: &mut Conn, group: &str, offset: i64) -> RemotingCommand {
    let o = offset.to_string();
    c.call(request(
        15,
        &[
            ("consumerGroup", group),
            ("topic", "MG"),
            ("queueId", "0"),
            ("commitOffset", &o),
        ],
        b"",
    ))
}

/// QUERY_CONSUMER_OFFSET of queue 0.
fn rmq_offset(c: &mut Conn, group: &str) -> Option<String> {
    let r = c.call(request(
        14,
        &[("consumerGroup", group), ("topic", "MG"), ("queueId", "0")],
        b"",
    ));
    assert_eq!(r.code, 0);
    r.ext("offset").map(str::to_string)
}

/// Joins `group` as a new Kafka member (v5: MEMBER_ID_REQUIRED first).
fn kafka_member(c: &mut KConn, group: &str) -> (i32, String) {
    let (e, _, id) = join(c, 5, group, "");
    assert_eq!(e, 79, "MEMBER_ID_REQUIRED");
    let (e, generation, me) = join(c, 5, group, &id);
    assert_eq!(e, 0);
    assert_eq!(me, id);
    (generation, me)
}

#[test]
fn group_is_live_in_one_ecosystem_at_a_time() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    metadata(&mut kc, "MG");
    let mut rmq = Conn::open(r.broker);
    // Nobody live yet: either ecosystem may write the shared offsets.
    assert_eq!(rmq_commit(&mut rmq, "G", 5).code, 0);

    // A RocketMQ consumer takes the group.
    assert_eq!(heartbeat(&mut rmq, "10.0.0.1@rmq", &["G"]).code, 0);
    assert_eq!(
        consumer_list(&mut rmq, "G"),
        Ok(vec!["10.0.0.1@rmq".into()])
    );

    // Kafka JoinGroup: 23 and no member id, in v5 and v0.
    assert_eq!(join(&mut kc, 5, "G", ""), (23, -1, String::new()));
    assert_eq!(join(&mut kc, 0, "G", ""), (23, -1, String::new()));
    let line = r.logged(&["JoinGroup refused", "group=G"]);
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("in use by 1 RocketMQ consumer(s)"), "{line}");
    // Kafka OffsetCommit (simple commit, no generation): UNKNOWN_MEMBER_ID.
    assert_eq!(commit(&mut kc, "G", -1, "", "MG", 99), 25);
    assert_eq!(rmq_offset(&mut rmq, "G").as_deref(), Some("5"));
    // Another group is not affected.
    let (_, other) = kafka_member(&mut kc, "H");
    assert_eq!(leave(&mut kc, "H", &other), 0);

    let m = r.metrics();
    has(
        &m,
        r#"rokka_consumergroup_members{group="G",protocol="remoting"} 1"#,
    );
    has(
        &m,
        r#"rokka_consumergroup_members{group="G",protocol="kafka"} 0"#,
    );
    has(&m, r#"kafka_consumergroup_members{consumergroup="G"} 1"#);
    has(
        &m,
        r#"rokka_consumergroup_refused_total{protocol="kafka",request="join"} 2"#,
    );
    has(
        &m,
        r#"rokka_consumergroup_refused_total{protocol="kafka",request="commit"} 1"#,
    );

    // The RocketMQ consumer leaves: the group is free at once.
    let un = rmq.call(request(
        35,
        &[("clientID", "10.0.0.1@rmq"), ("consumerGroup", "G")],
        b"",
    ));
    assert_eq!(un.code, 0);
    let (generation, me) = kafka_member(&mut kc, "G");
    // It resumes from the shared committed offset and commits as a member.
    assert_eq!(commit(&mut kc, "G", generation, &me, "MG", 7), 0);

    // Now a RocketMQ newcomer is refused; its other group still registers.
    let mut rmq2 = Conn::open(r.broker);
    let hb = heartbeat(&mut rmq2, "10.0.0.2@rmq", &["G", "G2"]);
    assert_eq!(hb.code, 1, "SYSTEM_ERROR");
    let remark = hb.remark.clone().unwrap_or_default();
    assert!(
        remark.contains("consumer group G is in use by 1 Kafka consumer(s)"),
        "{remark}"
    );
    assert!(consumer_list(&mut rmq2, "G").is_err());
    assert_eq!(
        consumer_list(&mut rmq2, "G2"),
        Ok(vec!["10.0.0.2@rmq".into()])
    );
    let up = rmq_commit(&mut rmq2, "G", 50);
    assert_eq!(up.code, 1);
    assert!(
        up.remark.unwrap_or_default().contains("Kafka consumer(s)"),
        "UPDATE_CONSUMER_OFFSET remark"
    );
    assert_eq!(rmq_offset(&mut rmq2, "G").as_deref(), Some("7"));
    let m = r.metrics();
    has(
        &m,
        r#"rokka_consumergroup_members{group="G",protocol="kafka"} 1"#,
    );
    has(
        &m,
        r#"rokka_consumergroup_members{group="G",protocol="remoting"} 0"#,
    );
    has(
        &m,
        r#"rokka_consumergroup_members{group="G2",protocol="remoting"} 1"#,
    );
    has(
        &m,
        r#"rokka_consumergroup_refused_total{protocol="remoting",request="heartbeat"} 1"#,
    );
    has(
        &m,
        r#"rokka_consumergroup_refused_total{protocol="remoting",request="commit"} 1"#,
    );

    // The Kafka member leaves: the next heartbeat registers the consumer,
    // which resumes from the offset the Kafka member committed.
    assert_eq!(leave(&mut kc, "G", &me), 0);
    assert_eq!(heartbeat(&mut rmq2, "10.0.0.2@rmq", &["G", "G2"]).code, 0);
    assert_eq!(
        consumer_list(&mut rmq2, "G"),
        Ok(vec!["10.0.0.2@rmq".into()])
    );
    assert_eq!(rmq_offset(&mut rmq2, "G").as_deref(), Some("7"));
    assert_eq!(rmq_commit(&mut rmq2, "G", 8).code, 0);
    let m = r.metrics();
    has(
        &m,
        r#"rokka_consumergroup_members{group="G",protocol="remoting"} 1"#,
    );
    has(
        &m,
        r#"rokka_consumergroup_members{group="G",protocol="kafka"} 0"#,
    );
}

#[test]
fn closing_the_rocketmq_connection_frees_the_group() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    metadata(&mut kc, "MG");
    let mut rmq = Conn::open(r.broker);
    assert_eq!(heartbeat(&mut rmq, "10.0.0.3@rmq", &["C"]).code, 0);
    assert_eq!(join(&mut kc, 5, "C", "").0, 23);
    drop(rmq);
    // The close is noticed by the connection task; retry like a client would.
    let deadline = Instant::now() + WAIT;
    loop {
        let (e, _, _) = join(&mut kc, 5, "C", "");
        if e == 79 {
            break;
        }
        assert_eq!(e, 23);
        assert!(Instant::now() < deadline, "the group was never freed");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, me) = kafka_member(&mut kc, "C");
    assert!(!me.is_empty());
    let m = r.metrics();
    has(
        &m,
        r#"rokka_consumergroup_members{group="C",protocol="kafka"} 1"#,
    );
}
