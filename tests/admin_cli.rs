//! `rokka admin` against a running rokka: topic, group, message and cluster
//! commands (JSON output checked), and the error paths a script relies on:
//! unknown topic (exit 1), bad date (exit 2), unreachable broker (exit 3).

mod support;

use std::process::{Command, Output};

use serde_json::Value;
use support::kafka as k;
use support::remoting::*;
use support::Rokka;

fn admin(r: &Rokka, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rokka"))
        .arg("admin")
        .args([
            "--broker",
            &r.broker.to_string(),
            "--namesrv",
            &r.namesrv.to_string(),
        ])
        .args(args)
        .env_remove("ROKKA_CONFIG")
        .output()
        .unwrap()
}

/// Runs with `--output json`, asserts success, returns the rows.
fn json(r: &Rokka, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let out = admin(r, &all);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn topics_are_created_described_altered_and_deleted() {
    let r = Rokka::start();
    json(&r, &["topic", "create", "CliT", "--queues", "2"]);
    let list = json(&r, &["topic", "list"]);
    let t = list.iter().find(|t| t["topic"] == "CliT").unwrap();
    assert_eq!(
        (t["read_queues"].as_u64(), t["perm"].as_u64()),
        (Some(2), Some(6))
    );
    let mut c = Conn::open(r.broker);
    assert_eq!(send_v2(&mut c, "CliT", 1, "", b"x").code, 0);
    let d = json(&r, &["topic", "describe", "CliT"]);
    assert_eq!(d.len(), 2);
    assert_eq!(
        (d[1]["queue"].as_u64(), d[1]["max_offset"].as_u64()),
        (Some(1), Some(1))
    );
    json(&r, &["topic", "alter", "CliT", "--queues", "3"]);
    assert_eq!(json(&r, &["topic", "describe", "CliT"]).len(), 3);
    // The human table has a header and a row per queue.
    let table = admin(&r, &["topic", "describe", "CliT"]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.starts_with("TOPIC"), "{text}");
    assert_eq!(text.lines().count(), 4);
    json(&r, &["topic", "delete", "CliT"]);
    assert!(!json(&r, &["topic", "list"])
        .iter()
        .any(|t| t["topic"] == "CliT"));
    // Unknown topic: the broker's code and remark, exit 1.
    let bad = admin(&r, &["topic", "describe", "CliT"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("code 17"), "{}", stderr(&bad));
    assert_eq!(
        admin(&r, &["topic", "delete", "Nope"]).status.code(),
        Some(1)
    );
}

#[test]
fn groups_of_both_ecosystems_are_listed_lagged_and_reset() {
    let r = Rokka::start();
    let mut c = Conn::open(r.broker);
    json(&r, &["topic", "create", "CliG", "--queues", "1"]);
    for i in 0..10 {
        assert_eq!(
            send_v2(&mut c, "CliG", 0, "KEYS\u{1}k1", format!("m{i}").as_bytes()).code,
            0
        );
    }
    assert_eq!(c.call(update_offset("RmqG", "CliG", 0, 4)).code, 0);
    let mut kc = k::Conn::open(r.kafka);
    assert_eq!(
        k::offset_commit(&mut kc, "kafka-g", -1, "", "CliG", &[(0, 7, "")]),
        vec![vec![0]]
    );
    let groups = json(&r, &["group", "list"]);
    for g in ["RmqG", "kafka-g"] {
        assert!(
            groups
                .iter()
                .any(|x| x["group"] == g && x["topics"] == "CliG"),
            "{g}: {groups:?}"
        );
    }
    let lag = json(&r, &["group", "lag", "kafka-g"]);
    assert_eq!(lag[0]["lag"].as_i64(), Some(3));
    let d = json(&r, &["group", "describe", "RmqG", "--topic", "CliG"]);
    assert_eq!(
        (d[0]["consumer_offset"].as_i64(), d[0]["lag"].as_i64()),
        (Some(4), Some(6))
    );
    // Resets of a Kafka group, read back by Kafka's OffsetFetch.
    let fetch = |kc: &mut k::Conn| k::offset_fetch(kc, "kafka-g", "CliG", &[0])[0][0].0;
    let reset = |args: &[&str]| {
        let mut a = vec!["group", "reset", "kafka-g", "--topic", "CliG"];
        a.extend_from_slice(args);
        json(&r, &a)
    };
    assert_eq!(reset(&["--to-earliest"])[0]["new_offset"].as_i64(), Some(0));
    assert_eq!(fetch(&mut kc), 0);
    reset(&["--shift-by", "5"]);
    assert_eq!(fetch(&mut kc), 5);
    reset(&["--shift-by", "-100"]);
    assert_eq!(fetch(&mut kc), 0);
    reset(&["--to-latest"]);
    assert_eq!(fetch(&mut kc), 10);
    reset(&["--to-datetime", "1970-01-01T00:00:00Z"]);
    assert_eq!(fetch(&mut kc), 0);
    // And a RocketMQ group, read back by QUERY_CONSUMER_OFFSET.
    json(
        &r,
        &[
            "group",
            "reset",
            "RmqG",
            "--topic",
            "CliG",
            "--shift-by",
            "2",
        ],
    );
    assert_eq!(
        c.call(query_offset("RmqG", "CliG", 0)).ext("offset"),
        Some("6")
    );
    // Error paths: bad time (2), unknown group (1), unknown topic (1).
    let bad = admin(
        &r,
        &[
            "group",
            "reset",
            "RmqG",
            "--topic",
            "CliG",
            "--to-datetime",
            "2024-02-30T00:00:00",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("invalid date/time"),
        "{}",
        stderr(&bad)
    );
    let none = admin(
        &r,
        &["group", "reset", "Nobody", "--topic", "CliG", "--to-latest"],
    );
    assert_eq!(none.status.code(), Some(1), "{}", stderr(&none));
    let nt = admin(
        &r,
        &["group", "reset", "RmqG", "--topic", "Nope", "--to-latest"],
    );
    assert_eq!(nt.status.code(), Some(1));
    // No mode, or two: a usage error from clap.
    assert_eq!(
        admin(&r, &["group", "reset", "RmqG", "--topic", "CliG"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn messages_are_read_by_id_offset_and_key_and_the_cluster_is_shown() {
    let r = Rokka::start();
    let mut c = Conn::open(r.broker);
    json(&r, &["topic", "create", "CliM", "--queues", "1"]);
    for i in 0..40 {
        let props = format!("KEYS\u{1}key{}\u{2}TAGS\u{1}t", i % 2);
        assert_eq!(
            send_v2(&mut c, "CliM", 0, &props, format!("body-{i}").as_bytes()).code,
            0
        );
    }
    let walk = json(
        &r,
        &[
            "message", "get", "--topic", "CliM", "--offset", "3", "--count", "35",
        ],
    );
    assert_eq!(walk.len(), 35);
    assert_eq!(
        (walk[0]["offset"].as_u64(), walk[0]["body"].as_str()),
        (Some(3), Some("body-3"))
    );
    assert_eq!(walk[34]["offset"].as_u64(), Some(37));
    let id = walk[0]["msg_id"].as_str().unwrap().to_owned();
    let one = json(&r, &["message", "get", &id]);
    assert_eq!(one[0]["body"], "body-3");
    assert_eq!(one[0]["keys"], "key1");
    let q = json(
        &r,
        &["message", "query", "--topic", "CliM", "--key", "key0"],
    );
    assert_eq!(q.len(), 20);
    let bad = admin(&r, &["message", "get", "not-an-id"]);
    assert_eq!(bad.status.code(), Some(2));
    let cl = json(&r, &["cluster", "status"]);
    assert_eq!(cl.len(), 1);
    assert_eq!(
        (cl[0]["broker"].as_str(), cl[0]["state"].as_str()),
        (Some("broker-a"), Some("up"))
    );
}

#[test]
fn an_unreachable_broker_is_exit_3() {
    let out = Command::new(env!("CARGO_BIN_EXE_rokka"))
        .args([
            "admin",
            "--broker",
            "127.0.0.1:1",
            "--timeout-ms",
            "2000",
            "topic",
            "list",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("cannot reach 127.0.0.1:1"),
        "{}",
        stderr(&out)
    );
}
