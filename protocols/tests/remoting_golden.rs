//! Golden tests over frames captured from real Java 4.9.7 / 5.3.3 clients and
//! a real 4.9.7 broker (`golden/remoting/`, copied from the shared vectors;
//! when `../shared/vectors/remoting` sits beside the repository every frame
//! there is checked too). Each frame must split as one whole frame, decode,
//! match the code and direction in its file name, and re-encode to a header
//! with equal fields; bodies (routes, heartbeats, stored records, batches)
//! must decode.

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use rokka_protocols::remoting::body::{HeartbeatData, TopicRouteData};
use rokka_protocols::remoting::message::{
    create_message_id, decode_batch, decode_message_id, decode_messages, decode_properties,
    MAGIC_V1,
};
use rokka_protocols::remoting::{
    decode_frame, encode_frame, split_frame, RemotingCommand, SerializeType, DEFAULT_MAX_FRAME,
};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/remoting")
}

fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/remoting")
}

fn vectors(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "bin"))
                .map(|p| {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    (name, std::fs::read(&p).unwrap())
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn load(name: &str) -> RemotingCommand {
    let raw = std::fs::read(golden_dir().join(name)).unwrap();
    let mut buf = BytesMut::from(&raw[..]);
    let frame = split_frame(&mut buf, DEFAULT_MAX_FRAME).unwrap().unwrap();
    decode_frame(&frame).unwrap()
}

/// Name → (is request, code).
fn parse_name(name: &str) -> (bool, i32) {
    let req = name.contains("-req-");
    let code = name
        .rsplit_once("code")
        .and_then(|(_, c)| c.strip_suffix(".bin"))
        .unwrap()
        .parse()
        .unwrap();
    (req, code)
}

fn header_fields(c: &RemotingCommand) -> RemotingCommand {
    RemotingCommand {
        body: Bytes::new(),
        ..c.clone()
    }
}

fn check_all(dir: &Path) -> usize {
    let all = vectors(dir);
    for (name, raw) in &all {
        let mut buf = BytesMut::from(&raw[..]);
        let frame = split_frame(&mut buf, DEFAULT_MAX_FRAME)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: incomplete"));
        assert!(buf.is_empty(), "{name}: trailing bytes after the frame");
        let cmd = decode_frame(&frame).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (req, code) = parse_name(name);
        assert_eq!(cmd.code, code, "{name}");
        assert_eq!(!cmd.is_response(), req, "{name}");
        if name.contains("rmqser") && req && cmd.code != 40 {
            assert_eq!(cmd.serialize_type, SerializeType::RocketMq, "{name}");
        }
        // Re-encode: the header decodes back to equal fields, the body is kept.
        let mut out = BytesMut::new();
        encode_frame(&cmd, &mut out);
        let mut again = out.clone();
        let f2 = split_frame(&mut again, DEFAULT_MAX_FRAME).unwrap().unwrap();
        let cmd2 = decode_frame(&f2).unwrap();
        assert_eq!(header_fields(&cmd2), header_fields(&cmd), "{name}");
        assert_eq!(cmd2.body, cmd.body, "{name}");
        // Java's binary header encodes like ours: byte-identical frames.
        if cmd.serialize_type == SerializeType::RocketMq {
            assert_eq!(&out[..], &raw[..], "{name}: binary re-encode differs");
        }
        check_body(name, &cmd);
    }
    all.len()
}

fn check_body(name: &str, cmd: &RemotingCommand) {
    let body = &cmd.body;
    if cmd.is_response() && body.len() > 8 && body[4..8] == MAGIC_V1.to_be_bytes() {
        let msgs = decode_messages(body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!msgs.is_empty());
        for m in &msgs {
            let crc = (crc32fast::hash(&m.body) & 0x7FFF_FFFF) as i32;
            assert_eq!(m.body_crc, crc, "{name}: body CRC");
            let id = m.offset_msg_id();
            assert_eq!(
                decode_message_id(&id).unwrap(),
                (m.store_host, m.physical_offset)
            );
            assert!(!decode_properties(&m.properties).is_empty(), "{name}");
        }
    }
    if !cmd.is_response() && cmd.code == 34 {
        let hb: HeartbeatData =
            serde_json::from_slice(body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!hb.client_id.is_empty(), "{name}");
    }
    if !cmd.is_response() && cmd.code == 320 {
        let msgs = decode_batch(body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(msgs.len(), 5, "{name}");
    }
}

#[test]
fn every_golden_vector_decodes_and_reencodes() {
    assert!(check_all(&golden_dir()) > 300);
}

#[test]
fn every_shared_vector_decodes_and_reencodes() {
    let dir = shared_dir();
    if dir.is_dir() {
        assert!(check_all(&dir) > 1600);
    }
}

#[test]
fn send_message_v2_request_java497() {
    let c = load("java497-0009-req-code310.bin");
    assert_eq!(c.code, 310);
    assert_eq!(c.language.name(), "JAVA");
    assert_eq!(c.version, 407);
    assert_eq!(c.ext("c"), Some("TBW102"));
    assert_eq!(c.ext("d"), Some("4"));
    assert_eq!(c.ext("k"), Some("false"));
    let props = c.ext("i").unwrap();
    let pairs = decode_properties(props);
    assert!(pairs.iter().any(|(k, _)| *k == "UNIQ_KEY"), "{props:?}");
    assert!(!c.body.is_empty());
}

#[test]
fn route_response_matches_captured_json() {
    let dir = golden_dir();
    let route = vectors(&dir)
        .into_iter()
        .find(|(n, _)| {
            n.starts_with("java497-") && n.ends_with("resp-code0.bin") && {
                let c = load(n);
                c.body.starts_with(b"{\"brokerDatas\"")
            }
        })
        .unwrap();
    let c = load(&route.0);
    let r: TopicRouteData = serde_json::from_slice(&c.body).unwrap();
    assert_eq!(r.broker_datas[0].broker_addrs["0"], "127.0.0.1:10911");
    assert_eq!(r.queue_datas[0].perm & 6, 6);
    // Our encoding is the captured one plus enableActingMaster.
    let ours = serde_json::to_string(&r).unwrap();
    let theirs = std::str::from_utf8(&c.body).unwrap().replace(
        "\"cluster\":\"DefaultCluster\"}",
        "\"cluster\":\"DefaultCluster\",\"enableActingMaster\":false}",
    );
    assert_eq!(ours, theirs);
}

#[test]
fn pull_response_has_the_four_offsets() {
    for (name, _) in vectors(&golden_dir()) {
        let c = load(&name);
        if c.is_response() && c.ext("nextBeginOffset").is_some() {
            for k in ["suggestWhichBrokerId", "minOffset", "maxOffset"] {
                assert!(c.ext(k).is_some(), "{name}: {k}");
            }
        }
    }
}

#[test]
fn message_id_roundtrip() {
    let id = create_message_id("127.0.0.1:10911".parse().unwrap(), 0x6A3B);
    assert_eq!(id, "7F00000100002A9F0000000000006A3B");
    assert_eq!(
        decode_message_id(&id).unwrap(),
        ("127.0.0.1:10911".parse().unwrap(), 0x6A3B)
    );
    let v6 = "[::1]:10911".parse().unwrap();
    let id = create_message_id(v6, -1);
    assert_eq!(id.len(), 56);
    assert!(id.starts_with("00000000000000000000000000000001") && id.ends_with("FFFFFFFF"));
    assert_eq!(decode_message_id(&id).unwrap(), (v6, -1));
    assert!(decode_message_id("XYZ").is_err());
    assert!(decode_message_id("7F000001").is_err());
}
