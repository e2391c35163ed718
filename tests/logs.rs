//! The real `rokka` executable with `--log-format json`: every stderr line is
//! one JSON object with `level` and `message`, the listener lines keep their
//! text in `message`, and a client connection is logged when it opens and
//! when it closes, with the peer address. With the default format the
//! `... listening on ADDR` lines stay plain text.
//!
//! Listeners bind 127.0.0.1 on port 0; every wait is bounded and the process
//! is killed when the test ends, pass or fail.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Small store files, as in `support::SMALL_FILES` (this file does not
/// use the shared harness).
const SMALL_FILES: [&str; 4] = [
    "mappedFileSizeCommitLog=33554432",
    "mappedFileSizeConsumeQueue=120000",
    "maxHashSlotNum=10000",
    "maxIndexNum=40000",
];

const WAIT: Duration = Duration::from_secs(20);

/// A running broker; killed on drop.
struct Rokka {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Rokka {
    fn start(dir: &std::path::Path, format: Option<&str>) -> Rokka {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rokka"));
        cmd.current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .args(["--bind-address", "127.0.0.1", "--http-port", "0"])
            .args([
                "--kafka-port",
                "0",
                "--namesrv-port",
                "0",
                "--grpc-port",
                "0",
            ])
            .args(["--listen-port", "0", "--log-level", "info"]);
        for kv in SMALL_FILES {
            cmd.args(["--override", kv]);
        }
        if let Some(f) = format {
            cmd.args(["--log-format", f]);
        }
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ROKKA_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        let mut child = cmd.spawn().expect("spawn rokka");
        let pipe = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Rokka {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one satisfies `pred`; returns it.
    fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no {what} within {WAIT:?}; stderr so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Rokka {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(line: &str) -> Value {
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    assert!(
        v.get("level").and_then(Value::as_str).is_some(),
        "no level: {line}"
    );
    assert!(
        v.get("message").and_then(Value::as_str).is_some(),
        "no message: {line}"
    );
    v
}

fn message(line: &str) -> String {
    json(line)["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn json_lines_with_connection_open_and_close() {
    let dir = tempfile::tempdir().unwrap();
    let mut rokka = Rokka::start(dir.path(), Some("json"));
    let line = rokka.wait_for("kafka listener line", |l| {
        message(l).starts_with("kafka listening on ")
    });
    let addr: SocketAddr = message(&line)["kafka listening on ".len()..]
        .parse()
        .expect("listener address");
    let client = TcpStream::connect_timeout(&addr, WAIT).expect("connect");
    let peer = client.local_addr().unwrap().to_string();
    let opened = rokka.wait_for("connection opened line", |l| {
        message(l) == "connection opened" && l.contains(&peer)
    });
    assert_eq!(json(&opened)["listener"], "kafka", "{opened}");
    assert_eq!(json(&opened)["level"], "INFO", "{opened}");
    drop(client);
    let closed = rokka.wait_for("connection closed line", |l| {
        message(l) == "connection closed" && l.contains(&peer)
    });
    let v = json(&closed);
    assert_eq!(v["peer"], peer.as_str(), "{closed}");
    assert_eq!(v["reason"], "closed by peer", "{closed}");
    assert!(v["duration_ms"].is_u64(), "{closed}");
    for l in &rokka.seen {
        json(l);
    }
}

#[test]
fn text_is_the_default_and_keeps_the_listener_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut rokka = Rokka::start(dir.path(), None);
    let line = rokka.wait_for("kafka listener line", |l| l.contains("kafka listening on "));
    assert!(serde_json::from_str::<Value>(&line).is_err(), "{line}");
    let addr = line
        .rsplit("kafka listening on ")
        .next()
        .unwrap_or_default();
    assert!(addr.parse::<SocketAddr>().is_ok(), "{line}");
}
