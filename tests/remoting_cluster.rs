//! Two real rokka processes: broker A names B's NameServer in `namesrvAddr`,
//! registers with it through REGISTER_BROKER (its topic table included),
//! re-registers when its topics change, and unregisters on a clean stop.

mod support;

use std::time::{Duration, Instant};

use rokka_protocols::remoting::body::TopicRouteData;
use support::remoting::*;
use support::Rokka;

/// Polls B's NameServer until `pred` holds for the cluster-info body (bounded).
fn wait_cluster(b: &Rokka, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut ns = Conn::open(b.namesrv);
        let info = ns.call(request(106, &[], b""));
        let text = String::from_utf8_lossy(&info.body).into_owned();
        if pred(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "NameServer never reached the state; last: {text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn broker_registers_with_configured_nameservers() {
    let b = Rokka::start();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker-a.conf");
    std::fs::write(
        &conf,
        format!("brokerName=broker-zeta\nnamesrvAddr={}\n", b.namesrv),
    )
    .unwrap();
    let mut a = Rokka::start_with(0, &["--config", conf.to_str().unwrap()]);

    let info = wait_cluster(&b, |t| t.contains("broker-zeta"));
    assert!(
        info.contains(&a.broker.to_string()),
        "A's address is registered: {info}"
    );

    // A topic created on A becomes routable through B's NameServer.
    let mut conn = Conn::open(a.broker);
    assert_eq!(send_v2(&mut conn, "ZetaTopic", 0, "", b"x").code, 0);
    let deadline = Instant::now() + Duration::from_secs(15);
    let route = loop {
        let mut ns = Conn::open(b.namesrv);
        let r = route(&mut ns, "ZetaTopic");
        if r.code == 0 {
            break serde_json::from_slice::<TopicRouteData>(&r.body).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "ZetaTopic never became routable at B"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(route.broker_datas[0].broker_name, "broker-zeta");
    assert_eq!(route.queue_datas[0].write_queue_nums, 4);

    // A clean stop unregisters A at once (no 120 s wait for expiry).
    assert!(a.terminate().success());
    wait_cluster(&b, |t| !t.contains("broker-zeta"));
}
