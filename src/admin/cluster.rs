//! `rokka admin cluster status`: the NameServer's GET_BROKER_CLUSTER_INFO
//! (106), then each broker's GET_BROKER_RUNTIME_INFO (28), as mqadmin's
//! clusterList does. A broker that cannot be reached is shown as such.

use serde_json::Value;

use super::{body_json, Admin, AdminError, Client, Report};

/// Cluster commands.
#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Brokers per cluster with their address, version and CommitLog range
    Status,
}

/// Runs a cluster command.
pub fn run(a: &Admin, cmd: ClusterCommand) -> Result<Report, AdminError> {
    let ClusterCommand::Status = cmd;
    let info = body_json(&a.namesrv()?.call_ok(106, &[], Vec::new())?)?;
    let mut r = Report::new(&[
        "cluster",
        "broker",
        "id",
        "address",
        "version",
        "commitlog_min",
        "commitlog_max",
        "state",
    ]);
    let clusters = info["clusterAddrTable"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (cluster, names) in clusters {
        for name in names
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let addrs = info["brokerAddrTable"][name]["brokerAddrs"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (id, addr) in addrs {
                let addr = addr.as_str().unwrap_or_default();
                let runtime = Client::connect(addr, a.timeout)
                    .and_then(|mut c| c.call_ok(28, &[], Vec::new()))
                    .and_then(|resp| body_json(&resp));
                let (version, min, max, state) = match runtime {
                    Ok(v) => {
                        let t = &v["table"];
                        (
                            t["brokerVersionDesc"].clone(),
                            t["commitLogMinOffset"].clone(),
                            t["commitLogMaxOffset"].clone(),
                            Value::from("up"),
                        )
                    }
                    Err(e) => (
                        Value::Null,
                        Value::Null,
                        Value::Null,
                        Value::from(e.to_string()),
                    ),
                };
                r.row(vec![
                    Value::from(cluster.as_str()),
                    Value::from(name),
                    Value::from(id),
                    Value::from(addr),
                    version,
                    min,
                    max,
                    state,
                ]);
            }
        }
    }
    Ok(r)
}
