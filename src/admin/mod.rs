//! `rokka admin`: operators' commands against a running rokka (local or
//! remote), spoken over the broker's own RocketMQ remoting protocol, so they
//! also work against a remote rokka and see groups of both ecosystems (one
//! offset table).
//!
//! ```text
//! mod.rs      the clap tree, output (table / JSON), exit codes
//! client.rs   blocking remoting client (connect/read bounded by --timeout-ms)
//! topic.rs    topic list | create | describe | alter | delete
//! group.rs    group list | describe | lag | reset
//! message.rs  message get | query (progress bar when walking many)
//! cluster.rs  cluster status | add-node | remove-node | add-queues | drain (all but status over HTTP)
//! time.rs     --to-datetime parsing
//! ```
//!
//! Exit codes: 0 success; 1 the broker refused the request (unknown topic or
//! group, bad parameter: its code and remark are printed); 2 usage error (bad
//! flag, bad date/time); 3 broker or NameServer unreachable (connection
//! refused, timeout). `rokka admin verify` keeps `rokka verify`'s codes.

mod client;
mod cluster;
mod group;
mod message;
mod time;
mod topic;

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Map, Value};

pub use client::Client;

/// Options shared by every `rokka admin` command.
#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    /// RocketMQ broker address of the rokka to manage
    #[arg(
        long,
        short = 'b',
        global = true,
        env = "ROKKA_ADMIN_BROKER",
        default_value = "127.0.0.1:10911"
    )]
    broker: String,
    /// Its NameServer address (cluster status, topic delete)
    #[arg(
        long,
        short = 'n',
        global = true,
        env = "ROKKA_ADMIN_NAMESRV",
        default_value = "127.0.0.1:9876"
    )]
    namesrv: String,
    /// Its HTTP address (cluster add-node / remove-node)
    #[arg(
        long,
        global = true,
        env = "ROKKA_ADMIN_HTTP",
        default_value = "127.0.0.1:8080"
    )]
    http: String,
    /// Output: a human table, or JSON (one document on stdout)
    #[arg(long, short = 'o', global = true, value_enum, default_value = "table")]
    output: OutputFormat,
    /// Bound on every connect and answer, milliseconds
    #[arg(long, global = true, default_value = "5000")]
    timeout_ms: u64,
    #[command(subcommand)]
    command: AdminCommand,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns.
    Table,
    /// JSON.
    Json,
}

/// The command groups.
#[derive(Debug, clap::Subcommand)]
enum AdminCommand {
    /// Topics: list, create, describe, alter, delete
    #[command(subcommand)]
    Topic(topic::TopicCommand),
    /// Consumer groups of either ecosystem: list, describe, lag, reset
    #[command(subcommand)]
    Group(group::GroupCommand),
    /// Messages: get by id or by queue offset, query by key
    #[command(subcommand)]
    Message(message::MessageCommand),
    /// Cluster: brokers and their state
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Check a stopped data directory (same as `rokka verify`; exit 0 clean,
    /// 1 damage found, 2 cannot check)
    Verify {
        /// Data directory of the stopped rokka
        #[arg(long, short = 'd', default_value = crate::config::DEFAULT_DATA_DIR)]
        data_dir: std::path::PathBuf,
        /// Also repair (see `rokka verify --repair`)
        #[arg(long)]
        repair: bool,
    },
}

/// Why a command failed; each kind has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The broker answered with an error code.
    #[error("the broker refused the request (code {code}): {remark}")]
    Refused {
        /// RocketMQ response code.
        code: i32,
        /// The broker's remark.
        remark: String,
    },
    /// Not reachable or the connection broke.
    #[error("cannot reach {addr}: {reason}")]
    Unreachable {
        /// The address tried.
        addr: String,
        /// Why.
        reason: String,
    },
    /// A bad argument found after parsing (such as a date).
    #[error("{0}")]
    Usage(String),
    /// An answer that could not be decoded.
    #[error("unexpected answer: {0}")]
    Protocol(String),
    /// Something local (stdout closed, ...).
    #[error("{0}")]
    Other(String),
}

impl AdminError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::Refused { .. } | AdminError::Protocol(_) | AdminError::Other(_) => 1,
            AdminError::Usage(_) => 2,
            AdminError::Unreachable { .. } => 3,
        }
    }
}

/// What commands print: rows with named columns (a table), or the rows as
/// a JSON array of objects.
#[derive(Debug, Default)]
pub struct Report {
    columns: Vec<&'static str>,
    rows: Vec<Map<String, Value>>,
}

impl Report {
    fn new(columns: &[&'static str]) -> Report {
        Report {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, values: Vec<Value>) {
        self.rows.push(
            self.columns
                .iter()
                .map(|c| c.to_string())
                .zip(values)
                .collect(),
        );
    }

    fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Json => {
                let rows: Vec<Value> = self.rows.iter().cloned().map(Value::Object).collect();
                let mut s = serde_json::to_string_pretty(&rows).unwrap_or_default();
                s.push('\n');
                s
            }
            OutputFormat::Table => self.table(),
        }
    }

    fn table(&self) -> String {
        let cell = |v: Option<&Value>| match v {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => "-".to_owned(),
            Some(v) => v.to_string(),
        };
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| self.columns.iter().map(|c| cell(r.get(*c))).collect())
            .collect();
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cells
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|s| s.chars().count())
                    .chain([c.len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        let mut line = |vals: &mut dyn Iterator<Item = String>| {
            let mut l = String::new();
            for (v, w) in vals.zip(&widths) {
                l.push_str(&format!("{v:<w$}  "));
            }
            out.push_str(l.trim_end());
            out.push('\n');
        };
        line(&mut self.columns.iter().map(|c| c.to_uppercase()));
        for r in cells {
            line(&mut r.into_iter());
        }
        out
    }
}

/// The per-run context commands get.
#[derive(Debug)]
pub struct Admin {
    broker: String,
    namesrv: String,
    http: String,
    timeout: Duration,
    output: OutputFormat,
}

impl Admin {
    fn broker(&self) -> Result<Client, AdminError> {
        Client::connect(&self.broker, self.timeout)
    }

    fn namesrv(&self) -> Result<Client, AdminError> {
        Client::connect(&self.namesrv, self.timeout)
    }
}

/// Runs one `rokka admin` command; prints its result on stdout and errors
/// on stderr, and returns the exit code.
pub fn run(args: AdminArgs, store: &rokka_store::StoreConfig) -> ExitCode {
    let admin = Admin {
        broker: args.broker,
        namesrv: args.namesrv,
        http: args.http,
        timeout: Duration::from_millis(args.timeout_ms.max(1)),
        output: args.output,
    };
    let result = match args.command {
        AdminCommand::Topic(c) => topic::run(&admin, c),
        AdminCommand::Group(c) => group::run(&admin, c),
        AdminCommand::Message(c) => message::run(&admin, c),
        AdminCommand::Cluster(c) => cluster::run(&admin, c),
        AdminCommand::Verify { data_dir, repair } => {
            let mut cfg = store.clone();
            cfg.commit_log_dir = data_dir.join("commitlog");
            cfg.root_dir = data_dir;
            return crate::verify::run(&cfg, repair);
        }
    };
    let printed = result.and_then(|report| {
        std::io::stdout()
            .lock()
            .write_all(report.render(admin.output).as_bytes())
            .map_err(|e| AdminError::Other(format!("cannot write to stdout: {e}")))
    });
    match printed {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "rokka admin: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// A string field of a response's ext fields, or a protocol error.
fn ext<'a>(
    r: &'a rokka_protocols::remoting::RemotingCommand,
    key: &str,
) -> Result<&'a str, AdminError> {
    r.ext(key)
        .ok_or_else(|| AdminError::Protocol(format!("answer without {key}")))
}

/// A response body as (fastjson) JSON.
fn body_json(r: &rokka_protocols::remoting::RemotingCommand) -> Result<Value, AdminError> {
    rokka_protocols::remoting::fastjson::parse_fastjson(&r.body)
        .map_err(|e| AdminError::Protocol(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_json_keeps_types() {
        let mut r = Report::new(&["topic", "queues"]);
        r.row(vec![Value::from("a-long-name"), Value::from(8)]);
        r.row(vec![Value::from("b"), Value::Null]);
        assert_eq!(
            r.render(OutputFormat::Table),
            "TOPIC        QUEUES\na-long-name  8\nb            -\n"
        );
        let v: Value = serde_json::from_str(&r.render(OutputFormat::Json)).unwrap();
        assert_eq!(v[0]["queues"], 8);
        assert_eq!(v[1]["topic"], "b");
    }

    #[test]
    fn exit_codes_tell_failures_apart() {
        let refused = AdminError::Refused {
            code: 17,
            remark: String::new(),
        };
        let down = AdminError::Unreachable {
            addr: String::new(),
            reason: String::new(),
        };
        assert_eq!(
            [
                refused.exit_code(),
                AdminError::Usage(String::new()).exit_code(),
                down.exit_code()
            ],
            [1, 2, 3]
        );
    }
}
