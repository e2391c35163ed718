//! Timer messages (ADR 019) end to end against the real `rokka` executable:
//! the property precedence and refusals, delivery not before the due time
//! and within a bound after it, a Kafka reader seeing the record only when
//! due, and SIGKILL restarts with timers due before, during and after the
//! downtime.

mod support;

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use rokka_protocols::remoting::message::{encode_batch, BatchMessage, MessageExt};
use support::remoting::*;
use support::Rokka;

/// Delivery later than the due time by more than this fails a test (the
/// issue asks for 200 ms; the 2-core CI machine is shared).
const LATE_BOUND_MS: i64 = 200;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn timer(kind: &str, v: i64) -> String {
    format!("{kind}\u{1}{v}\u{2}TAGS\u{1}t")
}

/// Everything in `queue` of `topic` from offset 0.
fn all(b: &mut Conn, topic: &str, queue: u32) -> Vec<MessageExt> {
    pull_all(b, topic, queue)
}

/// Checks a delivered message: stored no earlier than its due time and at
/// most [`LATE_BOUND_MS`] (or `late` when longer) after it; returns the lateness.
fn lateness(m: &MessageExt, late: i64) -> i64 {
    let due: i64 = m
        .property("TIMER_OUT_MS")
        .expect("TIMER_OUT_MS")
        .parse()
        .unwrap();
    let l = m.store_timestamp - due;
    assert!(l >= 0, "delivered {} ms before due", -l);
    assert!(l <= late, "delivered {l} ms after due");
    assert_eq!(m.property("REAL_TOPIC"), None);
    l
}

#[test]
fn precedence_refusals_and_due_now() {
    let r = Rokka::start_with(0, &["--override", "timerMaxDelaySec=60"]);
    let mut b = Conn::open(r.broker);
    // Not a number, beyond timerMaxDelaySec: MESSAGE_ILLEGAL (13).
    for props in [
        "TIMER_DELAY_MS\u{1}soon".to_string(),
        "TIMER_DELIVER_MS\u{1}1.5".to_string(),
        timer("TIMER_DELAY_SEC", 61),
        timer("TIMER_DELIVER_MS", now_ms() + 120_000),
    ] {
        let resp = send_v2(&mut b, "TP", 0, &props, b"x");
        assert_eq!(resp.code, 13, "{props:?}: {:?}", resp.remark);
        assert!(resp.remark.unwrap_or_default().contains("timer"));
    }
    // The timer topic is the broker's own.
    let resp = send_v2(&mut b, "rmq_sys_wheel_timer", 0, "", b"x");
    assert_eq!(resp.code, 16, "{:?}", resp.remark);
    // Due now or in the past: stored at once.
    let past = timer("TIMER_DELIVER_MS", now_ms() - 5000);
    assert_eq!(send_v2(&mut b, "TP", 0, &past, b"past").code, 0);
    assert_eq!(
        send_v2(&mut b, "TP", 0, &timer("TIMER_DELAY_MS", 0), b"zero").code,
        0
    );
    let got: Vec<_> = all(&mut b, "TP", 0).into_iter().map(|m| m.body).collect();
    assert_eq!(got, ["past", "zero"]);
    // TIMER_DELAY_SEC wins over TIMER_DELAY_MS and TIMER_DELIVER_MS; a delay
    // level wins over all of them (level 1 = 1 s).
    let t0 = now_ms();
    let sec = format!(
        "TIMER_DELIVER_MS\u{1}{}\u{2}TIMER_DELAY_MS\u{1}30000\u{2}TIMER_DELAY_SEC\u{1}1",
        t0 + 40_000
    );
    assert_eq!(send_v2(&mut b, "TP", 1, &sec, b"sec").code, 0);
    let level = "DELAY\u{1}1\u{2}TIMER_DELAY_MS\u{1}30000";
    assert_eq!(send_v2(&mut b, "TP", 2, level, b"level").code, 0);
    let ms = "TIMER_DELAY_MS\u{1}1500\u{2}TIMER_DELIVER_MS\u{1}1";
    assert_eq!(send_v2(&mut b, "TP", 3, ms, b"ms").code, 0);
    assert!(all(&mut b, "TP", 1).is_empty(), "parked until due");
    let sec_got = wait_for(&mut b, "TP", 1, Duration::from_secs(10));
    let due = sec_got[0]
        .property("TIMER_OUT_MS")
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert!(
        (t0 + 1000..t0 + 1500).contains(&due),
        "due {} after send",
        due - t0
    );
    lateness(&sec_got[0], LATE_BOUND_MS);
    let level_got = wait_for(&mut b, "TP", 2, Duration::from_secs(10));
    assert_eq!(level_got[0].body, "level");
    assert_eq!(level_got[0].property("TIMER_DELAY_MS"), None, "cleared");
    let ms_got = wait_for(&mut b, "TP", 3, Duration::from_secs(10));
    let due = ms_got[0]
        .property("TIMER_OUT_MS")
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert!(
        due >= t0 + 1500 && due < now_ms(),
        "due {} after send",
        due - t0
    );
    // Batches do not carry timers.
    let msgs = [BatchMessage {
        flag: 0,
        body: "b".into(),
        properties: "TIMER_DELAY_MS\u{1}1000".into(),
    }];
    let mut body = BytesMut::new();
    encode_batch(&msgs, &mut body);
    let batch = [
        ("a", "pg"),
        ("b", "TP"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "0"),
    ];
    let resp = b.call(request(320, &batch, &body));
    assert_eq!(resp.code, 13, "{:?}", resp.remark);
}

#[test]
fn timer_wheel_disabled_refuses_timers() {
    let r = Rokka::start_with(0, &["--override", "timerWheelEnable=false"]);
    let mut b = Conn::open(r.broker);
    let resp = send_v2(&mut b, "TN", 0, &timer("TIMER_DELAY_MS", 5000), b"x");
    assert_eq!(resp.code, 1, "{:?}", resp.remark);
    assert!(resp.remark.unwrap().contains("timerWheelEnable"));
    assert_eq!(send_v2(&mut b, "TN", 0, "TAGS\u{1}plain", b"y").code, 0);
}

#[test]
fn flow_control_refuses_above_max_pending() {
    let r = Rokka::start_with(0, &["--override", "rokka.timerMaxPending=3"]);
    let mut b = Conn::open(r.broker);
    for _ in 0..3 {
        let resp = send_v2(&mut b, "TF", 0, &timer("TIMER_DELAY_SEC", 30), b"x");
        assert_eq!(resp.code, 0, "{:?}", resp.remark);
    }
    let resp = send_v2(&mut b, "TF", 0, &timer("TIMER_DELAY_SEC", 30), b"x");
    assert_eq!(resp.code, 1, "{:?}", resp.remark);
    assert!(r.metrics().contains("rokka_timer_pending 3"));
}

#[test]
fn delivered_when_due_in_any_order_and_kafka_sees_it_only_then() {
    let r = Rokka::start();
    let mut b = Conn::open(r.broker);
    // Due times out of send order, 300 ms to 2.3 s ahead.
    let delays: Vec<i64> = (0..20).map(|i| 300 + (i * 7 % 20) * 100).collect();
    for (i, d) in delays.iter().enumerate() {
        let resp = send_v2(
            &mut b,
            "TT",
            0,
            &timer("TIMER_DELAY_MS", *d),
            i.to_string().as_bytes(),
        );
        assert_eq!(resp.code, 0, "{:?}", resp.remark);
    }
    let mut k = support::kafka::Conn::open(r.kafka);
    let (err, hw, _) = support::kafka::fetch(&mut k, "TT", 0, 0, 0);
    assert_eq!(
        (err, hw),
        (0, 0),
        "Kafka sees nothing before the first is due"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut got = all(&mut b, "TT", 0);
    while got.len() < delays.len() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
        got = all(&mut b, "TT", 0);
    }
    assert_eq!(got.len(), delays.len());
    let mut late: Vec<i64> = got.iter().map(|m| lateness(m, LATE_BOUND_MS)).collect();
    late.sort_unstable();
    eprintln!(
        "lateness ms: min {} median {} max {}",
        late[0], late[10], late[19]
    );
    // Stored in due order.
    let dues: Vec<i64> = got
        .iter()
        .map(|m| m.property("TIMER_OUT_MS").unwrap().parse().unwrap())
        .collect();
    assert!(dues.windows(2).all(|w| w[0] <= w[1]), "{dues:?}");
    let (err, hw, _) = support::kafka::fetch(&mut k, "TT", 0, 0, 0);
    assert_eq!((err, hw), (0, 20));
    let m = r.metrics();
    assert!(m.contains("rokka_timer_delivered_total 20"), "{m}");
    assert!(m.contains("rokka_timer_pending 0"));
    assert!(m.contains("rokka_timer_lateness_seconds_count 20"));
}

#[test]
fn sigkill_restart_delivers_before_during_and_after_downtime_once() {
    let r = Rokka::start();
    let mut b = Conn::open(r.broker);
    let sends = [
        ("before", 800),
        ("during", 3000),
        ("after", 6500),
        ("later", 9000),
    ];
    for (name, d) in sends {
        let resp = send_v2(
            &mut b,
            "TK",
            0,
            &timer("TIMER_DELAY_MS", d),
            name.as_bytes(),
        );
        assert_eq!(resp.code, 0, "{:?}", resp.remark);
    }
    assert_eq!(wait_for(&mut b, "TK", 0, Duration::from_secs(10)).len(), 1);
    thread::sleep(Duration::from_millis(300));
    let r = r.kill_then_restart(|_| thread::sleep(Duration::from_secs(3)));
    let mut b = Conn::open(r.broker);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = all(&mut b, "TK", 0);
    while got.len() < sends.len() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
        got = all(&mut b, "TK", 0);
    }
    let mut count: HashMap<String, usize> = HashMap::new();
    for m in &got {
        *count
            .entry(String::from_utf8_lossy(&m.body).into_owned())
            .or_default() += 1;
    }
    for (name, _) in sends {
        assert_eq!(count.get(name), Some(&1), "{name}: {count:?}");
    }
    for m in &got {
        let l = lateness(m, 20_000);
        if m.body != "during" {
            assert!(l <= LATE_BOUND_MS, "{:?} late by {l} ms", m.body);
        }
    }
    // A clean restart finds nothing left to deliver.
    let r = r.restart();
    thread::sleep(Duration::from_millis(500));
    let mut b = Conn::open(r.broker);
    assert_eq!(all(&mut b, "TK", 0).len(), sends.len());
    assert!(r.metrics().contains("rokka_timer_pending 0"));
}
