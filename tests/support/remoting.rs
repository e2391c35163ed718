//! A small blocking RocketMQ remoting client on the `rokka-protocols`
//! codec, and builders of the requests the tests send. Reads time out after
//! [`WAIT`].

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rokka_protocols::remoting::message::{decode_messages, MessageExt};
use rokka_protocols::remoting::{
    decode_frame, encode_frame, split_frame, ExtFields, RemotingCommand, DEFAULT_MAX_FRAME,
};

use super::WAIT;

/// A blocking remoting connection.
pub struct Conn {
    pub s: TcpStream,
    pub buf: BytesMut,
    pub opaque: i32,
    /// Broker-initiated requests read while waiting for a response.
    pub pending: VecDeque<RemotingCommand>,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        let s = TcpStream::connect_timeout(&addr, WAIT).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        Conn {
            s,
            buf: BytesMut::new(),
            opaque: 100,
            pending: Default::default(),
        }
    }

    pub fn send(&mut self, mut cmd: RemotingCommand) -> i32 {
        self.opaque += 1;
        cmd.opaque = self.opaque;
        let mut out = BytesMut::new();
        encode_frame(&cmd, &mut out);
        self.s.write_all(&out).unwrap();
        self.opaque
    }

    /// The next frame, or None when the peer closed the connection.
    pub fn read(&mut self) -> Option<RemotingCommand> {
        loop {
            if let Some(f) = split_frame(&mut self.buf, DEFAULT_MAX_FRAME).unwrap() {
                return Some(decode_frame(&f).unwrap());
            }
            let mut chunk = [0u8; 65536];
            match self.s.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// Sends `cmd` and returns the response with its opaque (skipping NOTIFYs).
    pub fn call(&mut self, cmd: RemotingCommand) -> RemotingCommand {
        let op = self.send(cmd);
        loop {
            let r = self.read().expect("connection closed");
            if r.is_response() {
                assert_eq!(r.opaque, op);
                assert_eq!(r.flag & 1, 1);
                return r;
            }
            self.pending.push_back(r);
        }
    }
}

/// A request with `code`, the extension fields `ext` (in this order) and
/// `body`.
pub fn request(code: i32, ext: &[(&str, &str)], body: &[u8]) -> RemotingCommand {
    let mut e = ExtFields::default();
    for (k, v) in ext {
        e.insert(*k, *v);
    }
    let mut c = RemotingCommand::request(code, e);
    c.body = Bytes::copy_from_slice(body);
    c
}

/// SEND_MESSAGE_V2 (producer group `pg`, born at 1716800000000) with an
/// explicit sysFlag and message flag; returns the response.
pub fn send_with(
    c: &mut Conn,
    topic: &str,
    queue: i32,
    sys_flag: i32,
    flag: i32,
    props: &str,
    body: &[u8],
) -> RemotingCommand {
    let (q, s, f) = (queue.to_string(), sys_flag.to_string(), flag.to_string());
    let req = request(
        310,
        &[
            ("a", "pg"),
            ("b", topic),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", &q),
            ("f", &s),
            ("g", "1716800000000"),
            ("h", &f),
            ("i", props),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-a"),
        ],
        body,
    );
    c.call(req)
}

/// SEND_MESSAGE_V2 with sysFlag 0 and message flag 7.
pub fn send_v2(c: &mut Conn, topic: &str, queue: i32, props: &str, body: &[u8]) -> RemotingCommand {
    send_with(c, topic, queue, 0, 7, props, body)
}

/// A PULL_MESSAGE (or LITE_PULL_MESSAGE) request; [`Pull::new`] gives the
/// defaults, struct update syntax changes the rest.
#[derive(Debug, Clone)]
pub struct Pull<'a> {
    /// 11 (PULL_MESSAGE) or 361 (LITE_PULL_MESSAGE).
    pub code: i32,
    pub group: &'a str,
    pub topic: &'a str,
    pub queue: u32,
    pub offset: u64,
    pub max: u32,
    pub sys_flag: i32,
    /// The TAG subscription expression.
    pub sub: &'a str,
    pub suspend_ms: u64,
}

impl<'a> Pull<'a> {
    /// PULL_MESSAGE of `topic`/`queue` from offset 0 by group `cg`: at most
    /// 32 messages, sysFlag 4, subscription `*`, no suspension.
    pub fn new(topic: &'a str, queue: u32) -> Pull<'a> {
        Pull {
            code: 11,
            group: "cg",
            topic,
            queue,
            offset: 0,
            max: 32,
            sys_flag: 4,
            sub: "*",
            suspend_ms: 0,
        }
    }

    /// The request command.
    pub fn request(&self) -> RemotingCommand {
        let (q, o, m, f, s) = (
            self.queue.to_string(),
            self.offset.to_string(),
            self.max.to_string(),
            self.sys_flag.to_string(),
            self.suspend_ms.to_string(),
        );
        request(
            self.code,
            &[
                ("consumerGroup", self.group),
                ("topic", self.topic),
                ("queueId", &q),
                ("queueOffset", &o),
                ("maxMsgNums", &m),
                ("sysFlag", &f),
                ("commitOffset", "0"),
                ("suspendTimeoutMillis", &s),
                ("subscription", self.sub),
                ("subVersion", "0"),
                ("expressionType", "TAG"),
            ],
            b"",
        )
    }
}

/// PULL_MESSAGE by group `cg` of at most 32 messages.
pub fn pull(
    c: &mut Conn,
    topic: &str,
    queue: u32,
    offset: u64,
    flag: i32,
    sub: &str,
    suspend: u64,
) -> RemotingCommand {
    c.call(
        Pull {
            offset,
            sys_flag: flag,
            sub,
            suspend_ms: suspend,
            ..Pull::new(topic, queue)
        }
        .request(),
    )
}

/// The messages of a pull answer (none unless it is FOUND).
pub fn found(resp: &RemotingCommand) -> Vec<MessageExt> {
    if resp.code == 0 {
        decode_messages(&resp.body).unwrap()
    } else {
        Vec::new()
    }
}

/// GET_ROUTEINFO_BY_TOPIC.
pub fn route(c: &mut Conn, topic: &str) -> RemotingCommand {
    c.call(request(105, &[("topic", topic)], b""))
}

/// Everything a pull of `queue` from offset 0 returns (`*`, sysFlag 4).
pub fn pull_all(c: &mut Conn, topic: &str, queue: u32) -> Vec<MessageExt> {
    found(&pull(c, topic, queue, 0, 4, "*", 0))
}

/// Pulls `queue` every 100 ms until it returns something or `limit` passed.
pub fn wait_for(c: &mut Conn, topic: &str, queue: u32, limit: Duration) -> Vec<MessageExt> {
    let deadline = Instant::now() + limit;
    loop {
        let got = pull_all(c, topic, queue);
        if !got.is_empty() || Instant::now() > deadline {
            return got;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// QUERY_MESSAGE of `key` in `topic` over all time (at most 32), with
/// `_UNIQUE_KEY_QUERY` set when `unique` is given.
pub fn query_message(topic: &str, key: &str, unique: Option<bool>) -> RemotingCommand {
    let end = i64::MAX.to_string();
    let mut ext = vec![
        ("topic", topic),
        ("key", key),
        ("maxNum", "32"),
        ("beginTimestamp", "0"),
        ("endTimestamp", end.as_str()),
    ];
    match unique {
        Some(true) => ext.push(("_UNIQUE_KEY_QUERY", "true")),
        Some(false) => ext.push(("_UNIQUE_KEY_QUERY", "false")),
        None => {}
    }
    request(12, &ext, b"")
}

/// Repeats QUERY_MESSAGE of `key` every 100 ms until it succeeds (the index
/// is written asynchronously); panics after `deadline`.
pub fn query_until_found(
    c: &mut Conn,
    topic: &str,
    key: &str,
    deadline: Instant,
) -> Vec<MessageExt> {
    loop {
        let q = c.call(query_message(topic, key, None));
        if q.code == 0 {
            return decode_messages(&q.body).unwrap();
        }
        assert!(Instant::now() < deadline, "key {key} never found");
        thread::sleep(Duration::from_millis(100));
    }
}

/// QUERY_CONSUMER_OFFSET of one queue.
pub fn query_offset(group: &str, topic: &str, queue: u32) -> RemotingCommand {
    let q = queue.to_string();
    request(
        14,
        &[("consumerGroup", group), ("topic", topic), ("queueId", &q)],
        b"",
    )
}

/// UPDATE_CONSUMER_OFFSET of one queue (two-way unless the caller sets the
/// oneway flag).
pub fn update_offset(group: &str, topic: &str, queue: u32, offset: i64) -> RemotingCommand {
    let (q, o) = (queue.to_string(), offset.to_string());
    request(
        15,
        &[
            ("consumerGroup", group),
            ("topic", topic),
            ("queueId", &q),
            ("commitOffset", &o),
        ],
        b"",
    )
}

/// CONSUMER_SEND_MSG_BACK of the message at CommitLog `offset` for `group`.
pub fn send_back(
    c: &mut Conn,
    offset: i64,
    group: &str,
    delay_level: i32,
    max_reconsume: i32,
) -> RemotingCommand {
    let (o, d, m) = (
        offset.to_string(),
        delay_level.to_string(),
        max_reconsume.to_string(),
    );
    c.call(request(
        36,
        &[
            ("offset", &o),
            ("group", group),
            ("delayLevel", &d),
            ("maxReconsumeTimes", &m),
        ],
        b"",
    ))
}

/// HEART_BEAT registering `client` as a clustering consumer (TAG `*` on
/// `topic`, starting at `consume_from`) of each of `groups`.
pub fn heartbeat(
    c: &mut Conn,
    client: &str,
    groups: &[&str],
    topic: &str,
    consume_from: &str,
) -> RemotingCommand {
    let consumers: Vec<String> = groups
        .iter()
        .map(|g| {
            format!(
                r#"{{"consumeFromWhere":"{consume_from}","consumeType":"CONSUME_PASSIVELY","groupName":"{g}","messageModel":"CLUSTERING","subscriptionDataSet":[{{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1,"tagsSet":[],"topic":"{topic}"}}],"unitMode":false}}"#
            )
        })
        .collect();
    let hb = format!(
        r#"{{"clientID":"{client}","consumerDataSet":[{}],"producerDataSet":[{{"groupName":"CLIENT_INNER_PRODUCER"}}]}}"#,
        consumers.join(",")
    );
    c.call(request(34, &[], hb.as_bytes()))
}

/// POP_MESSAGE of up to 32 messages of `topic`/`queue` for `group`: no
/// long poll, 60 s invisible, from the queue's start for a new group.
pub fn pop_request(group: &str, topic: &str, queue: i32) -> RemotingCommand {
    let h = rokka_protocols::remoting::pop::PopMessageRequest {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id: queue,
        max_msg_nums: 32,
        invisible_time: 60_000,
        poll_time: 0,
        born_time: 1,
        init_mode: 0,
        exp_type: Some("TAG".into()),
        exp: Some("*".into()),
        order: false,
        attempt_id: None,
    };
    let mut c = request(200_050, &[], b"");
    c.ext_fields = Some(h.to_ext());
    c
}
