//! End-to-end tests of the real `rokka` executable: startup, `/healthz` and
//! `/metrics`, clean shutdown on signals, and the refusals (bad config file,
//! data directory in use, unusable data directory).
//!
//! Each broker binds 127.0.0.1 with `--http-port 0`; the test learns the port
//! from the `http listening on ADDR` log line on stderr. Every wait is bounded
//! and a [`Broker`] kills its process when dropped, so a failing test leaves
//! nothing running.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Small store files, as in `support::SMALL_FILES` (this file does not
/// use the shared harness).
const SMALL_FILES: [&str; 4] = [
    "mappedFileSizeCommitLog=33554432",
    "mappedFileSizeConsumeQueue=120000",
    "maxHashSlotNum=10000",
    "maxIndexNum=40000",
];

const WAIT: Duration = Duration::from_secs(20);
const LISTENING: &str = "http listening on ";

/// A running `rokka` process whose stderr is collected line by line.
struct Broker {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Broker {
    /// Starts `rokka` in `cwd` with `args` and `env` over a clean environment
    /// (no inherited `ROKKA_*` or `RUST_LOG`). Listeners default to 127.0.0.1
    /// and port 0 unless `args` or `env` set them.
    fn start(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Broker {
        let defaults = [
            ("--bind-address", "ROKKA_BIND_ADDRESS", "127.0.0.1"),
            ("--http-port", "ROKKA_HTTP_PORT", "0"),
            ("--kafka-port", "ROKKA_KAFKA_PORT", "0"),
            ("--grpc-port", "ROKKA_GRPC_PORT", "0"),
            ("--namesrv-port", "ROKKA_NAMESRV_PORT", "0"),
            ("--listen-port", "ROKKA_LISTEN_PORT", "0"),
            ("--log-level", "ROKKA_LOG_LEVEL", "info"),
        ];
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rokka"));
        cmd.current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (flag, var, value) in defaults {
            if !args.contains(&flag) && !env.iter().any(|(k, _)| *k == var) {
                cmd.args([flag, value]);
            }
        }
        for kv in SMALL_FILES {
            cmd.args(["--override", kv]);
        }
        cmd.args(args);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ROKKA_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().expect("spawn rokka");
        let pipe = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = mpsc::channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        let collected = Arc::clone(&stderr);
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut all = collected.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
                drop(all);
                let _ = tx.send(line);
            }
        });
        Broker {
            child,
            lines,
            stderr,
        }
    }

    /// Waits for the `http listening on ADDR` line and returns ADDR.
    fn http_addr(&mut self) -> SocketAddr {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some((_, rest)) = line.split_once(LISTENING) {
                        let addr = rest.split_whitespace().next().unwrap_or_default();
                        return addr
                            .parse()
                            .unwrap_or_else(|_| panic!("bad address in {line:?}"));
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no `{LISTENING}` line within {WAIT:?}:\n{}", self.stderr())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.wait_exit();
                    panic!(
                        "rokka exited ({status}) before listening:\n{}",
                        self.stderr()
                    )
                }
            }
        }
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) has no memory-safety preconditions; the pid is our
        // own child, not yet reaped (we have not waited on it).
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// Waits up to [`WAIT`] for the process to exit.
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader thread take the last lines.
                thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "rokka still running after {WAIT:?}:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One HTTP/1.1 request; returns the status code and the body.
fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, WAIT).expect("connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.set_write_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read reply");
    let (head, body) = reply
        .split_once("\r\n\r\n")
        .expect("complete response head");
    assert!(head.contains("\r\nConnection: close"), "{head}");
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    (status, body.to_string())
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("rokka-test-")
        .tempdir()
        .unwrap()
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// Starts a broker on `data`, checks it serves, stops it with `signal` and
/// checks the clean-shutdown files.
fn serve_then_stop(signal: libc::c_int) {
    let dir = temp_dir();
    let data = dir.path().join("data");
    let mut broker = Broker::start(dir.path(), &["--data-dir", path_arg(&data)], &[]);
    let addr = broker.http_addr();
    assert!(addr.ip().is_loopback(), "{addr}");

    assert_eq!(http(addr, "GET", "/healthz"), (200, "ok\n".to_string()));
    let (status, metrics) = http(addr, "GET", "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("process_") || metrics.contains("rokka_"),
        "{metrics}"
    );
    assert!(metrics.contains("rokka_build_info"), "{metrics}");
    assert_eq!(http(addr, "GET", "/nope").0, 404);
    assert_eq!(http(addr, "POST", "/healthz").0, 405);
    assert!(data.join("abort").exists(), "abort marker while running");

    broker.signal(signal);
    let status = broker.wait_exit();
    assert!(status.success(), "exit {status}:\n{}", broker.stderr());
    assert!(!data.join("abort").exists(), "abort marker left behind");
    assert!(data.join("checkpoint").exists(), "no checkpoint written");
    assert!(
        broker.stderr().contains("shutdown complete"),
        "{}",
        broker.stderr()
    );
}

#[test]
fn sigterm_shuts_down_cleanly() {
    serve_then_stop(libc::SIGTERM);
}

#[test]
fn sigint_shuts_down_cleanly() {
    serve_then_stop(libc::SIGINT);
}

#[test]
fn default_data_dir_is_under_working_directory() {
    let dir = temp_dir();
    let mut broker = Broker::start(dir.path(), &[], &[]);
    broker.http_addr();
    assert!(
        dir.path().join("data/abort").exists(),
        "{}",
        broker.stderr()
    );
    broker.signal(libc::SIGTERM);
    assert!(broker.wait_exit().success(), "{}", broker.stderr());
    assert!(dir.path().join("data/checkpoint").exists());
}

#[test]
fn restart_after_clean_shutdown() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    for _ in 0..2 {
        let mut broker = Broker::start(dir.path(), &["-d", path_arg(&data)], &[]);
        let addr = broker.http_addr();
        assert_eq!(http(addr, "GET", "/healthz").0, 200);
        broker.signal(libc::SIGTERM);
        assert!(broker.wait_exit().success(), "{}", broker.stderr());
    }
}

/// Writes `text` as a config file and runs rokka on it; it must exit with 2.
fn config_error(text: &str, via_env: bool) -> (PathBuf, String) {
    let dir = temp_dir();
    let conf = dir.path().join("broker.conf");
    std::fs::write(&conf, text).unwrap();
    let data = dir.path().join("data");
    let mut args = vec!["--data-dir", path_arg(&data)];
    let env_config = [("ROKKA_CONFIG", path_arg(&conf))];
    let env: &[(&str, &str)] = if via_env {
        &env_config
    } else {
        args.extend(["-c", path_arg(&conf)]);
        &[]
    };
    let mut broker = Broker::start(dir.path(), &args, env);
    let status = broker.wait_exit();
    let stderr = broker.stderr();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        !data.exists(),
        "data directory created despite a config error"
    );
    (conf, stderr)
}

#[test]
fn unknown_config_key_is_refused() {
    let (conf, stderr) = config_error("brokerName = broker-a\n\n# comment\nnoSuchKey = 1\n", false);
    assert!(stderr.contains("noSuchKey"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:4", conf.display())),
        "{stderr}"
    );
}

#[test]
fn malformed_config_value_is_refused() {
    let (conf, stderr) = config_error("brokerName=broker-a\nlistenPort=ten\n", false);
    assert!(stderr.contains("listenPort"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:2", conf.display())),
        "{stderr}"
    );
}

#[test]
fn config_file_from_environment() {
    let (conf, stderr) = config_error("diskMaxUsedSpaceRatio = 150\n", true);
    assert!(stderr.contains("diskMaxUsedSpaceRatio"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:1", conf.display())),
        "{stderr}"
    );
}

#[test]
fn rocketmq_sample_broker_conf_is_accepted() {
    let dir = temp_dir();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        "brokerClusterName = DefaultCluster\nbrokerName = broker-a\nbrokerId = 0\n\
         deleteWhen = 04\nfileReservedTime = 48\nbrokerRole = ASYNC_MASTER\nflushDiskType = ASYNC_FLUSH\n\
         storePathRootDir = store\n",
    )
    .unwrap();
    let mut broker = Broker::start(dir.path(), &["-c", path_arg(&conf)], &[]);
    broker.http_addr();
    assert!(
        dir.path().join("store/abort").exists(),
        "{}",
        broker.stderr()
    );
    broker.signal(libc::SIGTERM);
    assert!(broker.wait_exit().success(), "{}", broker.stderr());
}

#[test]
fn bad_flag_value_from_environment_is_refused() {
    let dir = temp_dir();
    let mut broker = Broker::start(dir.path(), &[], &[("ROKKA_HTTP_PORT", "http")]);
    assert_eq!(broker.wait_exit().code(), Some(2), "{}", broker.stderr());
}

#[test]
fn second_process_on_same_data_dir_is_refused() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    let mut first = Broker::start(dir.path(), &["--data-dir", path_arg(&data)], &[]);
    let addr = first.http_addr();

    let mut second = Broker::start(dir.path(), &["--data-dir", path_arg(&data)], &[]);
    let status = second.wait_exit();
    let stderr = second.stderr();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("in use") && stderr.contains("lock"),
        "{stderr}"
    );
    assert!(stderr.contains(path_arg(&data)), "{stderr}");

    assert!(first.is_running(), "first broker died:\n{}", first.stderr());
    assert_eq!(http(addr, "GET", "/healthz").0, 200);
    first.signal(libc::SIGTERM);
    assert!(first.wait_exit().success(), "{}", first.stderr());
    assert!(!data.join("abort").exists());
}

#[test]
fn unusable_data_dir_is_refused() {
    let dir = temp_dir();
    // A path under a regular file cannot be created, even by root.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let data = file.join("data");
    let mut broker = Broker::start(dir.path(), &["--data-dir", path_arg(&data)], &[]);
    let status = broker.wait_exit();
    let stderr = broker.stderr();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("data directory") && stderr.contains(path_arg(&data)),
        "{stderr}"
    );
}

#[test]
fn taken_http_port_is_refused() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = temp_dir();
    let mut broker = Broker::start(dir.path(), &["--http-port", &port], &[]);
    let status = broker.wait_exit();
    let stderr = broker.stderr();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("cannot listen for http"), "{stderr}");
}

#[test]
fn restart_after_kill_recovers() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    let mut killed = Broker::start(dir.path(), &["-d", path_arg(&data)], &[]);
    killed.http_addr();
    killed.signal(libc::SIGKILL);
    assert!(!killed.wait_exit().success());
    assert!(
        data.join("abort").exists(),
        "a killed broker leaves its abort marker"
    );

    // The kernel released the lock with the process; recovery runs.
    let mut broker = Broker::start(dir.path(), &["-d", path_arg(&data)], &[]);
    let addr = broker.http_addr();
    assert_eq!(http(addr, "GET", "/healthz").0, 200);
    broker.signal(libc::SIGTERM);
    assert!(broker.wait_exit().success(), "{}", broker.stderr());
    assert!(!data.join("abort").exists());
}
