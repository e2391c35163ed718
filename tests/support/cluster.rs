//! A cluster of real rokka processes (ADR 015, ADR 024): fixed ports below
//! the ephemeral range, one config file per node, and bounded waits on
//! `GET /cluster`. Used by `cluster_process.rs` and `cluster_offsets.rs`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rokka_protocols::kafka::Reader;

use super::kafka::Conn;
use super::Rokka;

/// Longest wait for an election or a catch-up.
pub const ELECTION: Duration = Duration::from_secs(30);

/// Free ports for a whole cluster, picked below the kernel's ephemeral range
/// (`ip_local_port_range`), where no `bind(0)` or outgoing connection of
/// another test can take them between the pick and the node's bind (nor
/// while a killed node is down). A pick is checked by binding it, and never
/// repeated within this process (the other test runs on another thread). A
/// node binds its broker port's VIP neighbour (port − 2) too, so that one is
/// picked with it. Every listener of every node gets a fixed port. Nothing
/// stays bound: a listener held by the test would be inherited by a node
/// another thread is spawning at that moment (until its exec) and make a
/// start fail with "address in use".
struct Ports {
    range: std::ops::Range<u16>,
    seed: u64,
}

impl Ports {
    fn new() -> Ports {
        let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
            .unwrap_or(32768);
        let seed = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u32(std::process::id());
            h.finish() | 1
        };
        Ports {
            range: 10000..low.max(12000),
            seed,
        }
    }

    /// The next candidate port (xorshift over the range).
    fn candidate(&mut self) -> u16 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let span = u64::from(self.range.end - self.range.start);
        self.range.start + (self.seed % span) as u16
    }

    fn bind(port: u16) -> Option<TcpListener> {
        TcpListener::bind(("127.0.0.1", port)).ok()
    }

    fn take(&mut self) -> u16 {
        self.take_with(&[0])
    }

    /// A broker port whose VIP port (port − 2) is free as well.
    fn take_broker(&mut self) -> u16 {
        self.take_with(&[0, 2])
    }

    /// A port `p` with `p - d` free for every `d` of `below`.
    fn take_with(&mut self, below: &[u16]) -> u16 {
        static PICKED: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
        for _ in 0..1000 {
            let p = self.candidate();
            let mut picked = PICKED.lock().unwrap_or_else(|e| e.into_inner());
            if below.iter().any(|d| picked.contains(&p.wrapping_sub(*d))) {
                continue;
            }
            let held: Option<Vec<TcpListener>> = below
                .iter()
                .map(|d| p.checked_sub(*d).and_then(Ports::bind))
                .collect();
            if held.is_some() {
                picked.extend(below.iter().map(|d| p - d));
                return p;
            }
        }
        panic!("no free port in {:?}", self.range);
    }
}

/// A node's fixed ports and config file.
pub struct Node {
    pub raft: u16,
    pub listen: u16,
    pub kafka: u16,
    pub namesrv: u16,
    pub http: u16,
    pub config: PathBuf,
}

/// Three (or more) rokka processes of one Raft cluster.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub procs: Vec<Option<Rokka>>,
    /// A single-node rokka the members register with (`namesrvAddr`).
    pub external_ns: Option<Rokka>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub fn new() -> Cluster {
        Cluster::with_spares(0)
    }

    /// Three voters, started, and `spares` more nodes configured (not
    /// started) that join as learners through `rokka.clusterListen`.
    pub fn with_spares(spares: usize) -> Cluster {
        Cluster::build(spares, false)
    }

    /// With `external_ns`, a separate single-node rokka (brokerName
    /// `ns-host`) is started first and every member has `namesrvAddr` set to
    /// its NameServer port.
    pub fn build(spares: usize, external_ns: bool) -> Cluster {
        Cluster::build_groups(spares, external_ns, &["broker-a"; 3])
    }

    /// [`Cluster::build`] with node `i`'s `brokerName` `groups[i]` (the
    /// spares join the first group).
    pub fn build_groups(spares: usize, external_ns: bool, groups: &[&str; 3]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let mut ports = Ports::new();
        let external_ns = external_ns.then(|| {
            let (listen, ns) = (ports.take_broker(), ports.take());
            let (kafka, http, ha) = (ports.take(), ports.take(), ports.take());
            let config = dir.path().join("ns.properties");
            std::fs::write(&config, format!("brokerName=ns-host\nhaListenPort={ha}\n")).unwrap();
            let data = dir.path().join("data-ns");
            let [kafka, ns_port, http] = [kafka, ns, http].map(|p| p.to_string());
            let args = [
                "--config",
                path(&config),
                "--kafka-port",
                &kafka,
                "--namesrv-port",
                &ns_port,
                "--http-port",
                &http,
                "--data-dir",
                path(&data),
            ];
            (Rokka::start_with_log(listen, &args), ns)
        });
        let ns_line = external_ns
            .as_ref()
            .map(|(_, p)| format!("namesrvAddr=127.0.0.1:{p}\n"))
            .unwrap_or_default();
        let raft: Vec<u16> = (0..3 + spares).map(|_| ports.take()).collect();
        let voters = raft[..3]
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        let nodes: Vec<Node> = (1..=3 + spares as u64)
            .map(|id| {
                let learner = if id > 3 {
                    format!("rokka.clusterListen=127.0.0.1:{}\n", raft[id as usize - 1])
                } else {
                    String::new()
                };
                let listen = ports.take_broker();
                let (kafka, ha) = (ports.take(), ports.take());
                let (namesrv, http) = (ports.take(), ports.take());
                let config = dir.path().join(format!("node-{id}.properties"));
                let group = groups.get(id as usize - 1).unwrap_or(&groups[0]);
                // The disk guard stays out of the way on a crowded CI disk
                // (it has its own tests); 3 s lag / ack bounds keep waits short.
                std::fs::write(
                    &config,
                    format!(
                        "node.id={id}\ncontroller.quorum.voters={voters}\n\
                         brokerClusterName=DefaultCluster\nbrokerName={group}\n\
                         brokerRole=SYNC_MASTER\nmin.insync.replicas=2\n\
                         haListenPort={ha}\nrokka.replicaAckTimeoutMs=3000\n\
                         replica.lag.time.max.ms=3000\n\
                         rokka.diskRefuseRatio=98\nrokka.diskCleanForciblyRatio=99\n{learner}{ns_line}"
                    ),
                )
                .unwrap();
                Node {
                    raft: raft[id as usize - 1],
                    listen,
                    kafka,
                    namesrv,
                    http,
                    config,
                }
            })
            .collect();
        let mut c = Cluster {
            nodes,
            procs: (0..3 + spares).map(|_| None).collect(),
            external_ns: external_ns.map(|(r, _)| r),
            _dir: dir,
        };
        for i in 0..3 {
            c.start(i);
        }
        c
    }

    pub fn start(&mut self, i: usize) {
        let n = &self.nodes[i];
        let (kafka, namesrv, http) = (
            n.kafka.to_string(),
            n.namesrv.to_string(),
            n.http.to_string(),
        );
        let data = self.data_dir(i);
        let args = [
            "--config",
            path(&n.config),
            "--kafka-port",
            &kafka,
            "--namesrv-port",
            &namesrv,
            "--http-port",
            &http,
            "--data-dir",
            path(&data),
        ];
        self.procs[i] = Some(Rokka::start_with_log(n.listen, &args));
    }

    pub fn data_dir(&self, i: usize) -> PathBuf {
        self._dir.path().join(format!("data-{}", i + 1))
    }

    pub fn kill(&mut self, i: usize) {
        if let Some(mut r) = self.procs[i].take() {
            r.kill();
        }
    }

    pub fn proc(&self, i: usize) -> &Rokka {
        self.procs[i].as_ref().expect("running")
    }

    /// For a cluster built with groups ga = {1, 2} and gb = {3}: waits
    /// until node 0 reports a master in both groups and returns the index
    /// of ga's master.
    pub fn await_ga_master(&self) -> usize {
        let st = await_that(
            "a master in both groups",
            || self.status(0),
            |st| {
                st["groups"]["ga"]["master"].is_u64()
                    && st["groups"]["gb"]["master"].as_u64() == Some(3)
            },
        );
        st["groups"]["ga"]["master"].as_u64().unwrap() as usize - 1
    }

    /// `GET /cluster` of node `i`.
    pub fn status(&self, i: usize) -> serde_json::Value {
        let reply = self.proc(i).http_get("/cluster");
        let body = reply.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
    }

    /// Waits until every running node reports the same master (other than
    /// `not`) with at least `isr` in-sync members and plays its role; returns
    /// (master index, epoch).
    pub fn await_master(&self, not: Option<usize>, isr: usize) -> (usize, u64) {
        let deadline = Instant::now() + ELECTION;
        loop {
            let running: Vec<usize> = (0..self.procs.len())
                .filter(|i| self.procs[*i].is_some())
                .collect();
            let views: Vec<serde_json::Value> = running.iter().map(|i| self.status(*i)).collect();
            let g = |v: &serde_json::Value| v["groups"]["broker-a"].clone();
            let master = g(&views[0])["master"].as_u64();
            let agreed = views.iter().all(|v| g(v)["master"].as_u64() == master);
            if let Some(m) = master.filter(|_| agreed) {
                let mi = (m - 1) as usize;
                let roles_ok = running
                    .iter()
                    .zip(&views)
                    .all(|(i, v)| v["role"] == if *i == mi { "master" } else { "slave" });
                let isr_ok = g(&views[0])["isr"].as_array().map_or(0, Vec::len) >= isr;
                if Some(mi) != not && self.procs[mi].is_some() && roles_ok && isr_ok {
                    return (mi, g(&views[0])["epoch"].as_u64().unwrap());
                }
            }
            assert!(
                Instant::now() < deadline,
                "no agreed master within {ELECTION:?}: {views:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn raft_leader(&self, i: usize) -> Option<usize> {
        self.status(i)["raft_leader"]
            .as_u64()
            .map(|l| (l - 1) as usize)
    }

    /// Runs `rokka admin` against node `i`'s HTTP port; (success, output).
    pub fn admin(&self, i: usize, args: &[&str]) -> (bool, String) {
        let http = format!("127.0.0.1:{}", self.nodes[i].http);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rokka"))
            .args(["admin", "--http", &http, "-o", "json"])
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Waits until `GET /cluster` on node `i` satisfies `ok`.
    pub fn await_status(&self, i: usize, what: &str, ok: impl Fn(&serde_json::Value) -> bool) {
        let deadline = Instant::now() + ELECTION;
        loop {
            let st = self.status(i);
            if ok(&st) {
                return;
            }
            assert!(Instant::now() < deadline, "node {i}: never {what}: {st}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn kafka(&self, i: usize) -> Conn {
        Conn::open(self.proc(i).kafka)
    }
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// FindCoordinator v1 of a group id: (error, node id).
pub fn find_coordinator(c: &mut Conn, key: &str) -> (i16, i32) {
    let b = c.call(10, 1, |w| {
        w.str(key);
        w.i8(0);
    });
    let mut r = Reader::new(&b, 0, false);
    r.i32("throttle").unwrap();
    let err = r.i16("error").unwrap();
    r.nstr("message").unwrap();
    (err, r.i32("node").unwrap())
}

/// Waits until `ok` holds, at most [`ELECTION`].
pub fn await_that<T: std::fmt::Debug>(
    what: &str,
    mut probe: impl FnMut() -> T,
    ok: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + ELECTION;
    loop {
        let v = probe();
        if ok(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "never {what}: {v:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
