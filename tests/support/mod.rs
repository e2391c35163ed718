//! Shared helpers of the process tests: start the real `rokka` (127.0.0.1,
//! every listener on port 0 unless told otherwise, ports read from its log)
//! and talk to it through the `rokka-protocols` codecs.
//!
//! - this module: the [`Rokka`] process (killed on drop) and its HTTP side;
//! - [`cluster`]: several processes in cluster mode, waits on their status;
//! - [`remoting`]: a blocking RocketMQ remoting connection and requests;
//! - [`kafka`]: a blocking Kafka connection and the common requests;
//! - [`records`]: hand-built record batches (gzip, zlib, CRC-32C);
//! - [`grpc`]: the generated gRPC client and a receive.
//!
//! Every wait is bounded. Each test crate uses a subset, hence the
//! `dead_code` allowance.
#![allow(dead_code)]

pub mod cluster;
pub mod grpc;
pub mod kafka;
pub mod records;
pub mod remoting;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The bound on every wait: start-up, connects, reads, log lines.
pub const WAIT: Duration = Duration::from_secs(20);

/// A running rokka with its listener addresses; killed and reaped on drop.
pub struct Rokka {
    child: Child,
    /// The embedded NameServer.
    pub namesrv: SocketAddr,
    /// The RocketMQ broker (remoting) listener.
    pub broker: SocketAddr,
    /// The Kafka listener.
    pub kafka: SocketAddr,
    /// The HTTP listener (`/metrics`, `/healthz`).
    pub http: SocketAddr,
    /// The gRPC listener of the RocketMQ 5.x SDKs.
    pub grpc: SocketAddr,
    /// Every stderr line so far, when started with
    /// [`Rokka::start_capturing_log`].
    log: Option<Arc<Mutex<Vec<String>>>>,
    /// Command-line arguments beyond the defaults, kept for [`Rokka::restart`].
    extra: Vec<String>,
    dir: Option<tempfile::TempDir>,
}

/// Small store files for every test process (later `--override`s in a
/// test's arguments win): the defaults preallocate about 1.5 GiB per process,
/// more than a CI disk may have free with tests running side by side.
pub const SMALL_FILES: [&str; 4] = [
    "mappedFileSizeCommitLog=33554432",
    "mappedFileSizeConsumeQueue=120000",
    "maxHashSlotNum=10000",
    "maxIndexNum=40000",
];

impl Rokka {
    /// Starts with every listener on port 0.
    pub fn start() -> Rokka {
        Rokka::launch(0, &[], false, None)
    }

    /// Stops this rokka with SIGTERM (asserting a clean exit) and starts a
    /// new one on the same data directory and arguments, with new ports.
    pub fn restart(mut self) -> Rokka {
        let status = self.terminate();
        assert!(status.success(), "rokka exited with {status}");
        let dir = self.dir.take();
        let extra: Vec<String> = std::mem::take(&mut self.extra);
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        Rokka::launch(0, &extra, self.log.is_some(), dir)
    }

    /// Starts with a fixed broker port (so that its VIP port, port − 2, is
    /// bound too).
    pub fn start_on_listen_port(listen_port: u16) -> Rokka {
        Rokka::launch(listen_port, &[], false, None)
    }

    /// Starts with a fixed broker port (0 = any) and extra command-line
    /// arguments.
    pub fn start_with(listen_port: u16, extra: &[&str]) -> Rokka {
        Rokka::launch(listen_port, extra, false, None)
    }

    /// Starts with a fixed broker port and extra arguments, keeping every
    /// log line for [`Rokka::logged`].
    pub fn start_with_log(listen_port: u16, extra: &[&str]) -> Rokka {
        Rokka::launch(listen_port, extra, true, None)
    }

    /// Kills this rokka with SIGKILL (no clean shutdown) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts like [`Rokka::start`] and keeps every log line for
    /// [`Rokka::logged`].
    pub fn start_capturing_log() -> Rokka {
        Rokka::launch(0, &[], true, None)
    }

    fn launch(
        listen_port: u16,
        extra: &[&str],
        capture: bool,
        dir: Option<tempfile::TempDir>,
    ) -> Rokka {
        let listen_port = listen_port.to_string();
        let dir = dir.unwrap_or_else(|| {
            tempfile::Builder::new()
                .prefix("rokka-test-")
                .tempdir()
                .expect("temporary directory")
        });
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
                "--grpc-port",
                "0",
            ])
            .args(["--listen-port", &listen_port, "--log-level", "info"])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(SMALL_FILES.iter().flat_map(|kv| ["--override", kv]))
            .args(extra);
        // A clean environment: no inherited ROKKA_* settings or RUST_LOG.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ROKKA_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        let mut child = cmd.spawn().expect("spawn rokka");
        let pipe = child.stderr.take().expect("stderr is piped");
        let log = capture.then(|| Arc::new(Mutex::new(Vec::new())));
        let keep = log.clone();
        let (tx, rx): (_, Receiver<String>) = mpsc::channel();
        // Reads stderr to the end, so the child never blocks on a full pipe,
        // even after the receiver is gone.
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(keep) = &keep {
                    keep.lock().unwrap().push(line.clone());
                }
                let _ = tx.send(line);
            }
        });
        let mut rokka = Rokka {
            child,
            namesrv: SocketAddr::from(([127, 0, 0, 1], 0)),
            broker: SocketAddr::from(([127, 0, 0, 1], 0)),
            kafka: SocketAddr::from(([127, 0, 0, 1], 0)),
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
            grpc: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            extra: extra.iter().map(|a| (*a).to_owned()).collect(),
            dir: Some(dir),
        };
        // From here on a panic kills the process through Drop.
        let (mut namesrv, mut broker, mut kafka, mut http) = (None, None, None, None);
        let mut grpc = None;
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        while namesrv.is_none()
            || broker.is_none()
            || kafka.is_none()
            || http.is_none()
            || grpc.is_none()
        {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(e) => rokka.start_failed(e, &seen),
            };
            seen.push(line.clone());
            let addr = |marker: &str| {
                line.split_once(marker)
                    .and_then(|(_, r)| r.split_whitespace().next())
                    .and_then(|a| a.parse::<SocketAddr>().ok())
            };
            namesrv = namesrv.or(addr("namesrv listening on "));
            broker = broker.or(addr("remoting listening on "));
            kafka = kafka.or(addr("kafka listening on "));
            http = http.or(addr("http listening on "));
            grpc = grpc.or(addr("grpc listening on "));
        }
        rokka.grpc = grpc.unwrap();
        (rokka.namesrv, rokka.broker, rokka.kafka, rokka.http) = (
            namesrv.unwrap(),
            broker.unwrap(),
            kafka.unwrap(),
            http.unwrap(),
        );
        rokka
    }

    /// Panics with why the start failed: the exit status (a process that
    /// exited, e.g. on a port it could not bind) and every line it logged.
    fn start_failed(&mut self, e: mpsc::RecvTimeoutError, seen: &[String]) -> ! {
        // Stderr closed: the process is exiting; give it a moment to be reaped.
        let deadline = Instant::now() + Duration::from_secs(2);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break format!("exited with {s}"),
                _ if Instant::now() >= deadline => break "still running".to_owned(),
                _ => thread::sleep(Duration::from_millis(20)),
            }
        };
        panic!(
            "rokka did not log its listeners ({e}; {status}); its log:\n{}",
            seen.join("\n")
        );
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        // SAFETY: plain kill(2) on our own child's pid, not yet reaped.
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

    /// Waits (bounded) for a log line containing every one of `parts`.
    /// Only for a rokka started with [`Rokka::start_capturing_log`].
    pub fn logged(&self, parts: &[&str]) -> String {
        let log = self
            .log
            .as_ref()
            .expect("start with Rokka::start_capturing_log to read the log");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(l) = log
                .lock()
                .unwrap()
                .iter()
                .find(|l| parts.iter().all(|p| l.contains(p)))
            {
                return l.clone();
            }
            assert!(Instant::now() < deadline, "no log line with {parts:?}");
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The whole HTTP/1.1 response (head and body) to `GET path`.
    pub fn http_get(&self, path: &str) -> String {
        let mut s = TcpStream::connect_timeout(&self.http, WAIT).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        reply
    }

    /// The data directory (`--data-dir`).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir
            .as_ref()
            .expect("data directory")
            .path()
            .join("data")
    }

    /// Kills this rokka with SIGKILL, lets `between` act on the stopped data
    /// directory, then starts a new one on it (same arguments, new ports).
    pub fn kill_then_restart(mut self, between: impl FnOnce(&std::path::Path)) -> Rokka {
        let _ = self.child.kill();
        let _ = self.child.wait();
        between(&self.data_dir());
        let dir = self.dir.take();
        let extra: Vec<String> = std::mem::take(&mut self.extra);
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        Rokka::launch(0, &extra, self.log.is_some(), dir)
    }

    /// The `/metrics` text (asserting a 200 answer).
    pub fn metrics(&self) -> String {
        let reply = self.http_get("/metrics");
        let (head, body) = reply.split_once("\r\n\r\n").expect("response head");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        body.to_string()
    }
}

/// How many log lines a failing test prints per captured process.
const LOG_TAIL: usize = 150;

impl Drop for Rokka {
    fn drop(&mut self) {
        // A failing test shows what the process logged last.
        if let Some(log) = self.log.as_ref().filter(|_| thread::panicking()) {
            let log = log.lock().unwrap_or_else(|e| e.into_inner());
            let from = log.len().saturating_sub(LOG_TAIL);
            eprintln!(
                "--- rokka (broker {}, kafka {}): last {} log lines ---\n{}",
                self.broker,
                self.kafka,
                log.len() - from,
                log[from..].join("\n")
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
