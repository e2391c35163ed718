use std::net::IpAddr;

use super::*;

const YML: &str = r#"
globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      - groupA=DENY
  - accessKey: RocketMQAdmin
    secretKey: "admin-secret"
    whiteRemoteAddress: 192.168.1.*
    admin: true
"#;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn acl(dir: &tempfile::TempDir) -> PlainAcl {
    let path = dir.path().join("plain_acl.yml");
    std::fs::write(&path, YML).unwrap();
    PlainAcl::open(path)
}

fn ext(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A request signed with `secret` from 127.0.0.1.
fn signed(
    ak: &str,
    secret: &str,
    fields: &[(&str, &str)],
    body: &[u8],
) -> (Vec<(String, String)>, String) {
    let mut e = ext(fields);
    e.push(("AccessKey".into(), ak.into()));
    let sig = sign(secret, &e, body);
    (e, sig)
}

fn request<'a>(e: &'a [(String, String)], body: &'a [u8], res: &[(&str, u8)]) -> AclRequest<'a> {
    AclRequest {
        code: 10,
        admin_code: false,
        peer: ip("127.0.0.1"),
        ext: Some(e),
        body,
        resources: res.iter().map(|(r, p)| (r.to_string(), *p)).collect(),
    }
}

fn no_fallback(_: &str, _: &str, _: bool, _: u8) -> Option<bool> {
    None
}

fn check(a: &PlainAcl, r: &AclRequest<'_>) -> Result<Admitted, Refusal> {
    a.check(r, &no_fallback)
}

#[test]
fn signature_matches_an_independent_hmac_sha1() {
    // Python: base64(hmac.new(b'12345678', b'rocketmq20t1' + b'hello', sha1).digest());
    // values in key order AccessKey, queueId, topic; Signature left out.
    let e = ext(&[
        ("topic", "t1"),
        ("AccessKey", "rocketmq2"),
        ("queueId", "0"),
        ("Signature", "ignored"),
    ]);
    assert_eq!(
        sign("12345678", &e, b"hello"),
        "puRSJGekHY8KPr336JrZPQRh+w8="
    );
    // Non-ASCII values are signed as UTF-8.
    let e = ext(&[("AccessKey", "rocketmq2"), ("k", "ünï")]);
    assert_eq!(sign("12345678", &e, b""), "dzwUDxHYCeF9IwgQRMhYvmTvIyI=");
}

#[test]
fn identity_checks_in_upstream_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = acl(&dir);
    let (mut e, sig) = signed("rocketmq2", "12345678", &[("topic", "topicB")], b"body");
    e.push(("Signature".into(), sig));
    let ok = request(&e, b"body", &[("topicB", perm::PUB)]);
    assert_eq!(check(&a, &ok), Ok(Admitted::Account("rocketmq2".into())));
    // The body is part of the signature.
    let tampered = request(&e, b"other", &[("topicB", perm::PUB)]);
    let refused = check(&a, &tampered).unwrap_err();
    assert_eq!(
        refused.remark,
        "Check signature failed for accessKey=rocketmq2"
    );
    assert_eq!(refused.resource_type, None);
    // Wrong secret.
    let (mut e2, sig2) = signed("rocketmq2", "wrong-secret", &[("topic", "topicB")], b"");
    e2.push(("Signature".into(), sig2));
    assert!(check(&a, &request(&e2, b"", &[])).is_err());
    // Unknown key, no key.
    let unknown = ext(&[("AccessKey", "nobody")]);
    assert_eq!(
        check(&a, &request(&unknown, b"", &[])).unwrap_err().remark,
        "No acl config for nobody"
    );
    let none = ext(&[("topic", "t")]);
    assert_eq!(
        check(&a, &request(&none, b"", &[])).unwrap_err().remark,
        "No accessKey is configured"
    );
    // A globally white-listed address needs nothing.
    let mut white = request(&none, b"", &[("topicA", perm::PUB)]);
    white.peer = ip("10.10.103.7");
    assert_eq!(check(&a, &white), Ok(Admitted::GlobalWhiteList));
    // The account's own white list skips the signature (and the permissions).
    let admin = ext(&[("AccessKey", "RocketMQAdmin")]);
    let mut from_lan = request(&admin, b"", &[("anything", perm::SUB)]);
    from_lan.peer = ip("192.168.1.20");
    assert_eq!(
        check(&a, &from_lan),
        Ok(Admitted::Account("RocketMQAdmin".into()))
    );
}

fn signed_check(
    a: &PlainAcl,
    code: i32,
    admin_code: bool,
    res: &[(&str, u8)],
) -> Result<Admitted, Refusal> {
    let (mut e, sig) = signed("rocketmq2", "12345678", &[], b"");
    e.push(("Signature".into(), sig));
    let mut r = request(&e, b"", res);
    r.code = code;
    r.admin_code = admin_code;
    check(a, &r)
}

#[test]
fn permissions_follow_lists_then_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let a = acl(&dir);
    assert!(signed_check(&a, 10, false, &[("topicB", perm::PUB)]).is_ok());
    assert!(signed_check(&a, 11, false, &[("topicC", perm::SUB)]).is_ok());
    let r = signed_check(&a, 10, false, &[("topicC", perm::PUB)]).unwrap_err();
    assert_eq!(r.remark, "No default permission for topic:topicC");
    assert_eq!(r.resource_type, Some("topic"));
    // Not listed: defaultTopicPerm DENY, defaultGroupPerm SUB.
    assert!(signed_check(&a, 10, false, &[("other", perm::PUB)]).is_err());
    assert!(signed_check(&a, 11, false, &[("%RETRY%g1", perm::SUB)]).is_ok());
    let r = signed_check(
        &a,
        11,
        false,
        &[("topicB", perm::SUB), ("%RETRY%groupA", perm::SUB)],
    )
    .unwrap_err();
    assert_eq!(r.remark, "No default permission for group:groupA");
    assert_eq!(r.resource_type, Some("group"));
    // Publishing trace data is always allowed.
    assert!(signed_check(&a, 10, false, &[(TRACE_TOPIC, perm::PUB)]).is_ok());
    let r = signed_check(&a, 17, true, &[]).unwrap_err();
    assert_eq!(
        r.remark,
        "Need admin permission for request code=17, but accessKey=rocketmq2 is not"
    );
}

#[test]
fn the_shared_authorizer_decides_resources_the_account_does_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let a = acl(&dir);
    let (mut e, sig) = signed("rocketmq2", "12345678", &[], b"");
    e.push(("Signature".into(), sig));
    let kafka_grants = |ak: &str, r: &str, group: bool, p: u8| {
        (ak == "rocketmq2" && !group && p == perm::PUB).then_some(r == "orders")
    };
    let r = request(&e, b"", &[("orders", perm::PUB)]);
    assert!(a.check(&r, &kafka_grants).is_ok());
    // An explicit list entry wins over the shared authorizer.
    let r = request(&e, b"", &[("topicA", perm::PUB)]);
    assert!(a.check(&r, &kafka_grants).is_err());
}

#[test]
fn edits_are_persisted_and_external_changes_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let a = acl(&dir);
    let bad = AccountConfig {
        access_key: "short".into(),
        secret_key: Some("12345678".into()),
        ..Default::default()
    };
    assert!(a
        .update_account(bad)
        .unwrap_err()
        .starts_with("The accessKey=short"));
    let bad_perm = AccountConfig {
        access_key: "newuser1".into(),
        secret_key: Some("newsecret1".into()),
        topic_perms: Some(vec!["t=ALL".into()]),
        ..Default::default()
    };
    assert!(a
        .update_account(bad_perm)
        .unwrap_err()
        .contains("The expected permissions are"));
    a.update_account(AccountConfig {
        access_key: "newuser1".into(),
        secret_key: Some("newsecret1".into()),
        default_topic_perm: Some("PUB".into()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(a.version().counter, 1);
    let text = std::fs::read_to_string(a.path()).unwrap();
    assert!(
        text.contains("newuser1") && text.contains("rocketmq2") && text.contains("dataVersion")
    );
    // Update keeps what was not sent.
    a.update_account(AccountConfig {
        access_key: "newuser1".into(),
        secret_key: Some("newsecret1".into()),
        admin: true,
        ..Default::default()
    })
    .unwrap();
    let cfg = a.config();
    let user = cfg
        .accounts
        .iter()
        .flatten()
        .find(|x| x.access_key == "newuser1")
        .unwrap();
    assert!(user.admin);
    assert_eq!(user.default_topic_perm.as_deref(), Some("PUB"));
    assert!(a.delete_account("newuser1").unwrap());
    assert!(!a.delete_account("newuser1").unwrap());
    a.set_global_white_list(vec!["127.0.0.1".into()]).unwrap();
    let nobody = ext(&[]);
    assert_eq!(
        check(&a, &request(&nobody, b"", &[])),
        Ok(Admitted::GlobalWhiteList)
    );
    // An edit of the file by hand is picked up; a broken one is refused.
    std::fs::write(
        a.path(),
        "accounts: [{accessKey: other12, secretKey: other123}]\n",
    )
    .unwrap();
    a.reload_on_new_stamp();
    assert!(check(&a, &request(&nobody, b"", &[])).is_err());
    std::fs::write(
        a.path(),
        "accounts: [{accessKey: x, topicPerms: [nonsense]}]\n",
    )
    .unwrap();
    a.reload_on_new_stamp();
    assert!(a
        .config()
        .accounts
        .iter()
        .flatten()
        .any(|x| x.access_key == "other12"));
}

#[test]
fn grpc_signature_is_hex_hmac_of_the_date_time_in_either_case() {
    let dir = tempfile::tempdir().unwrap();
    let a = acl(&dir);
    // Python: hmac.new(b'12345678', b'20261206T101010Z', sha1).hexdigest()
    let hex = "4d4a300b14cfd6eed6d54f5f8bb9bf033a8e7bf4";
    let date = b"20261206T101010Z";
    let r = AclRequest {
        ext: None,
        body: &[],
        ..request(&[], &[], &[("topicB", perm::PUB)])
    };
    let ok = |sig: &str, ak: Option<&str>| a.check_signed(&r, ak, date, sig, &no_fallback);
    let admitted = Ok(Admitted::Account("rocketmq2".into()));
    assert_eq!(ok(hex, Some("rocketmq2")), admitted);
    assert_eq!(ok(&hex.to_uppercase(), Some("rocketmq2")), admitted);
    for bad in [
        "",
        "zz",
        &hex[1..],
        "4d4a300b14cfd6eed6d54f5f8bb9bf033a8e7bf5",
    ] {
        let e = ok(bad, Some("rocketmq2")).unwrap_err();
        assert_eq!(e.resource_type, None, "{bad:?}");
    }
    assert_eq!(
        ok(hex, None).unwrap_err().remark,
        "No accessKey is configured"
    );
    // Permissions as for remoting: topicA is denied.
    let denied = AclRequest {
        ext: None,
        body: &[],
        ..request(&[], &[], &[("topicA", perm::PUB)])
    };
    let e = a
        .check_signed(&denied, Some("rocketmq2"), date, hex, &no_fallback)
        .unwrap_err();
    assert_eq!(e.resource_type, Some("topic"));
}
