//! Shared helpers of the RocketMQ process tests: start the real `rokka`
//! (127.0.0.1, port 0, ports read from its log) and a small blocking remoting
//! client on the `rokka-protocols` codec. Every wait is bounded; the process
//! is killed on drop.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rokka_protocols::remoting::message::{decode_messages, MessageExt};
use rokka_protocols::remoting::{
    decode_frame, encode_frame, split_frame, ExtFields, RemotingCommand, DEFAULT_MAX_FRAME,
};

pub const WAIT: Duration = Duration::from_secs(20);

/// A running rokka with its listener addresses.
pub struct Rokka {
    child: Child,
    pub namesrv: SocketAddr,
    pub broker: SocketAddr,
    pub http: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Rokka {
    pub fn start() -> Rokka {
        Rokka::start_on_listen_port(0)
    }

    /// Starts with a fixed broker port (so that its VIP port, port − 2, is bound too).
    pub fn start_on_listen_port(listen_port: u16) -> Rokka {
        Rokka::start_with(listen_port, &[])
    }

    /// Starts with a fixed broker port (0 = any) and extra command-line arguments.
    pub fn start_with(listen_port: u16, extra: &[&str]) -> Rokka {
        let listen_port = listen_port.to_string();
        let dir = tempfile::Builder::new()
            .prefix("rokka-rmq-")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rokka"));
        cmd.current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .args(["--bind-address", "127.0.0.1", "--http-port", "0"])
            .args([
                "--kafka-port",
                "0",
                "--namesrv-port",
                "0",
                "--listen-port",
                &listen_port,
            ])
            .args(["--log-level", "info", "--data-dir", data.to_str().unwrap()])
            .args(extra);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ROKKA_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        let mut child = cmd.spawn().expect("spawn rokka");
        let pipe = child.stderr.take().unwrap();
        let (tx, rx): (_, Receiver<String>) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let (mut namesrv, mut broker, mut http) = (None, None, None);
        let deadline = Instant::now() + WAIT;
        while namesrv.is_none() || broker.is_none() || http.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .expect("rokka did not log its listeners");
            let addr = |marker: &str| {
                line.split_once(marker)
                    .and_then(|(_, r)| r.split_whitespace().next())
                    .and_then(|a| a.parse::<SocketAddr>().ok())
            };
            namesrv = namesrv.or(addr("namesrv listening on "));
            broker = broker.or(addr("remoting listening on "));
            http = http.or(addr("http listening on "));
        }
        // Keep draining stderr so the child never blocks on a full pipe.
        thread::spawn(move || while rx.recv().is_ok() {});
        Rokka {
            child,
            namesrv: namesrv.unwrap(),
            broker: broker.unwrap(),
            http: http.unwrap(),
            _dir: dir,
        }
    }
}

impl Rokka {
    /// Sends SIGTERM and waits (bounded) for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "rokka did not stop after SIGTERM"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Rokka {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking remoting connection.
pub struct Conn {
    pub s: TcpStream,
    pub buf: BytesMut,
    pub opaque: i32,
    /// Broker-initiated requests read while waiting for a response.
    pub pending: std::collections::VecDeque<RemotingCommand>,
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

pub fn request(code: i32, ext: &[(&str, &str)], body: &[u8]) -> RemotingCommand {
    let mut e = ExtFields::default();
    for (k, v) in ext {
        e.insert(*k, *v);
    }
    let mut c = RemotingCommand::request(code, e);
    c.body = Bytes::copy_from_slice(body);
    c
}

pub fn send_v2(c: &mut Conn, topic: &str, queue: i32, props: &str, body: &[u8]) -> RemotingCommand {
    let q = queue.to_string();
    let req = request(
        310,
        &[
            ("a", "pg"),
            ("b", topic),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", &q),
            ("f", "0"),
            ("g", "1716800000000"),
            ("h", "7"),
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

pub fn pull(
    c: &mut Conn,
    topic: &str,
    queue: u32,
    offset: u64,
    flag: i32,
    sub: &str,
    suspend: u64,
) -> RemotingCommand {
    let (q, o, f, s) = (
        queue.to_string(),
        offset.to_string(),
        flag.to_string(),
        suspend.to_string(),
    );
    c.call(request(
        11,
        &[
            ("consumerGroup", "cg"),
            ("topic", topic),
            ("queueId", &q),
            ("queueOffset", &o),
            ("maxMsgNums", "32"),
            ("sysFlag", &f),
            ("commitOffset", "0"),
            ("suspendTimeoutMillis", &s),
            ("subscription", sub),
            ("subVersion", "0"),
            ("expressionType", "TAG"),
        ],
        b"",
    ))
}

pub fn route(c: &mut Conn, topic: &str) -> RemotingCommand {
    c.call(request(105, &[("topic", topic)], b""))
}

pub fn pull_all(c: &mut Conn, topic: &str, queue: u32) -> Vec<MessageExt> {
    let p = pull(c, topic, queue, 0, 4, "*", 0);
    if p.code == 0 {
        decode_messages(&p.body).unwrap()
    } else {
        Vec::new()
    }
}

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
