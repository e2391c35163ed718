//! The `rokka` executable: parses flags and `ROKKA_*` variables, resolves the
//! configuration (`rokka::config`), sets up logging and the tokio runtime and
//! hands over to `rokka::startup::run`.
//!
//! Exit codes: 0 after a clean shutdown on SIGINT/SIGTERM; 2 for a usage or
//! configuration error (bad flag, unknown config key, malformed value); 1 when
//! the broker cannot start or stop (data directory unusable or in use by
//! another process, port taken, store error).
//!
//! `rokka verify [--repair]` checks a stopped data directory instead of
//! starting the broker (exit codes in `rokka::verify`); `rokka admin ...`
//! manages a running rokka (exit codes in `rokka::admin`).

use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rokka::config::{BrokerConfig, LogFormat, Overrides};
use tracing_subscriber::EnvFilter;

/// A message broker for RocketMQ and Kafka clients over one RocketMQ-style store.
///
/// With no arguments rokka keeps its data in ./data and listens on 0.0.0.0:
/// NameServer 9876, RocketMQ broker 10911, Kafka 9092, HTTP (/metrics, /healthz) 8080.
///
/// Settings are taken, lowest precedence first, from built-in defaults, the config
/// file (-c), ROKKA_* environment variables (RUST_LOG for the log filter), then flags.
#[derive(Debug, Parser)]
#[command(name = "rokka", version, about, long_about, args_override_self = true)]
struct Cli {
    /// Config file in Java-properties syntax: RocketMQ broker.conf keys, Kafka
    /// server.properties keys (listeners, num.partitions, ...) and rokka.* keys.
    #[arg(
        short = 'c',
        long = "config",
        env = "ROKKA_CONFIG",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,

    /// Data directory, the store root (storePathRootDir) [default: ./data]
    #[arg(short = 'd', long, env = "ROKKA_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// IP address all listeners bind to [default: 0.0.0.0]
    #[arg(long, env = "ROKKA_BIND_ADDRESS", value_name = "IP")]
    bind_address: Option<IpAddr>,

    /// HTTP port for /metrics and /healthz; 0 picks a free port [default: 8080]
    #[arg(long, env = "ROKKA_HTTP_PORT", value_name = "PORT")]
    http_port: Option<u16>,

    /// Kafka port [default: 9092]
    #[arg(long, env = "ROKKA_KAFKA_PORT", value_name = "PORT")]
    kafka_port: Option<u16>,

    /// Embedded NameServer port [default: 9876]
    #[arg(long, env = "ROKKA_NAMESRV_PORT", value_name = "PORT")]
    namesrv_port: Option<u16>,

    /// RocketMQ broker port, broker.conf listenPort [default: 10911]
    #[arg(long, env = "ROKKA_LISTEN_PORT", value_name = "PORT")]
    listen_port: Option<u16>,

    /// gRPC port for the RocketMQ 5.x SDKs, grpcServerPort; 0 picks a free port [default: 8081]
    #[arg(long, env = "ROKKA_GRPC_PORT", value_name = "PORT")]
    grpc_port: Option<u16>,

    /// Log filter such as `info` or `rokka=debug,info`; overrides RUST_LOG [default: info]
    #[arg(long, env = "ROKKA_LOG_LEVEL", value_name = "FILTER")]
    log_level: Option<String>,

    /// Log line format: text or json (one JSON object per line) [default: text]
    #[arg(long, env = "ROKKA_LOG_FORMAT", value_name = "FORMAT", value_parser = parse_log_format)]
    log_format: Option<LogFormat>,

    /// Do not publish the kafka_exporter / RocketMQ exporter compatible metric
    /// families (config key rokka.compatMetrics)
    #[arg(long, env = "ROKKA_NO_COMPAT_METRICS")]
    no_compat_metrics: bool,

    /// Set any config-file key, as in Kafka's `--override`: `--override
    /// mappedFileSizeCommitLog=67108864`. Repeatable; applied after the file.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

/// What to run instead of the broker.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Check a stopped data directory for damage: CommitLog entries failing
    /// their CRC or framing, ConsumeQueue entries not matching the log, gaps.
    /// Exit code 0 clean, 1 damage found, 2 cannot check (directory in use).
    Verify {
        /// Also repair: cut a torn log tail and rebuild damaged ConsumeQueues
        /// from the log; damaged files are moved to <data>/quarantine/.
        #[arg(long)]
        repair: bool,
    },
    /// Manage a running rokka: topics, groups of both ecosystems, offsets,
    /// messages, cluster (exit 0 ok, 1 refused, 2 usage, 3 unreachable)
    Admin(rokka::admin::AdminArgs),
}

impl Cli {
    fn into_overrides(self) -> (Overrides, Option<Command>) {
        let overrides = Overrides {
            config_file: self.config,
            data_dir: self.data_dir,
            bind_address: self.bind_address,
            http_port: self.http_port,
            kafka_port: self.kafka_port,
            namesrv_port: self.namesrv_port,
            listen_port: self.listen_port,
            grpc_port: self.grpc_port,
            log_level: self.log_level,
            rust_log: std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty()),
            no_compat_metrics: self.no_compat_metrics,
            log_format: self.log_format,
            properties: self.overrides,
        };
        (overrides, self.command)
    }
}

fn parse_log_format(v: &str) -> Result<LogFormat, String> {
    v.parse()
}

fn main() -> ExitCode {
    let (overrides, command) = Cli::parse().into_overrides();
    let config = match BrokerConfig::load(&overrides) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("rokka: {e}");
            return ExitCode::from(2);
        }
    };
    // The filter was checked during resolution; fall back rather than panic.
    let filter = EnvFilter::builder()
        .parse(&config.log_filter)
        .unwrap_or_else(|_| EnvFilter::new(rokka::config::DEFAULT_LOG_FILTER));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }

    match command {
        Some(Command::Verify { repair }) => return rokka::verify::run(&config.store, repair),
        Some(Command::Admin(args)) => return rokka::admin::run(args, &config.store),
        None => {}
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rokka")
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the tokio runtime: {e}")),
    };
    let result = runtime.block_on(rokka::startup::run(config));
    // Do not wait for a blocking store call that a second signal abandoned.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}

/// Reports a fatal error through the log, or on stderr if the filter hides errors.
fn fail(message: &str) -> ExitCode {
    if tracing::enabled!(tracing::Level::ERROR) {
        tracing::error!("{message}");
    } else {
        eprintln!("rokka: {message}");
    }
    ExitCode::FAILURE
}
