//! Codec tests of the remoting frame and headers: byte-at-a-time splitting,
//! every malformed-frame case (named errors, never a panic), lenient JSON
//! header forms, and proptest round trips of both header serializations.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use rokka_protocols::remoting::message::{decode_batch, decode_message, decode_messages};
use rokka_protocols::remoting::{
    decode_frame, encode_frame, split_frame, DecodeError, ExtFields, LanguageCode, RemotingCommand,
    SerializeType, DEFAULT_MAX_FRAME,
};

fn frame_of(cmd: &RemotingCommand) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(cmd, &mut out);
    out.to_vec()
}

fn sample(stype: SerializeType) -> RemotingCommand {
    let mut ext = ExtFields::default();
    ext.insert("topic", "T\u{1}x\u{2}ü");
    ext.insert("queueId", "3");
    let mut c = RemotingCommand::request(310, ext);
    c.opaque = -7;
    c.remark = Some("line\nbreak".into());
    c.serialize_type = stype;
    c.body = Bytes::from_static(b"body");
    c
}

fn raw_frame(type_byte: u8, header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
    f.extend_from_slice(&(((type_byte as u32) << 24) | header.len() as u32).to_be_bytes());
    f.extend_from_slice(header);
    f.extend_from_slice(body);
    f
}

fn decode_raw(raw: &[u8]) -> Result<RemotingCommand, DecodeError> {
    let mut buf = BytesMut::from(raw);
    let f = split_frame(&mut buf, DEFAULT_MAX_FRAME)?.expect("whole frame");
    decode_frame(&f)
}

#[test]
fn read_one_byte_at_a_time() {
    for stype in [SerializeType::Json, SerializeType::RocketMq] {
        let cmd = sample(stype);
        let raw = frame_of(&cmd);
        let mut two = raw.clone();
        two.extend_from_slice(&raw);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in two {
            buf.extend_from_slice(&[b]);
            while let Some(f) = split_frame(&mut buf, DEFAULT_MAX_FRAME).unwrap() {
                got.push(decode_frame(&f).unwrap());
            }
        }
        assert_eq!(got, vec![cmd.clone(), cmd]);
    }
}

#[test]
fn read_max_frame_len() {
    let mut buf = BytesMut::from(&(DEFAULT_MAX_FRAME as u32 + 1).to_be_bytes()[..]);
    assert!(matches!(
        split_frame(&mut buf, DEFAULT_MAX_FRAME),
        Err(DecodeError::FrameLength { .. })
    ));
    let mut buf = BytesMut::from(&(-1i32).to_be_bytes()[..]);
    assert!(split_frame(&mut buf, DEFAULT_MAX_FRAME).is_err());
    let mut buf = BytesMut::from(&3u32.to_be_bytes()[..]);
    assert!(split_frame(&mut buf, DEFAULT_MAX_FRAME).is_err());
    // A configurable limit.
    let raw = frame_of(&sample(SerializeType::Json));
    let mut buf = BytesMut::from(&raw[..]);
    assert!(split_frame(&mut buf, 16).is_err());
}

#[test]
fn read_incomplete_head() {
    let mut buf = BytesMut::from(&[0u8, 0][..]);
    assert_eq!(split_frame(&mut buf, DEFAULT_MAX_FRAME).unwrap(), None);
    let mut buf = BytesMut::from(&[0u8, 0, 0, 10, 0][..]);
    assert_eq!(split_frame(&mut buf, DEFAULT_MAX_FRAME).unwrap(), None);
}

#[test]
fn header_length_past_frame() {
    let mut f = raw_frame(0, b"{}", b"");
    f[7] = 200;
    assert!(matches!(
        decode_raw(&f),
        Err(DecodeError::HeaderLength { .. })
    ));
}

#[test]
fn unknown_serialize_type() {
    assert_eq!(
        decode_raw(&raw_frame(5, b"{}", b"")),
        Err(DecodeError::SerializeType(5))
    );
}

#[test]
fn invalid_json_headers() {
    for h in [
        &b"{\"code\":"[..],
        b"[]",
        b"{\"flag\":1}",
        b"\xff\xfe",
        b"{\"code\":\"x\"}",
    ] {
        assert!(
            matches!(decode_raw(&raw_frame(0, h, b"")), Err(DecodeError::Json(_))),
            "{h:?}"
        );
    }
}

#[test]
fn lenient_json_forms() {
    let h = br#"{"code":10,"language":"GO","version":317,"opaque":3,"flag":0,"remark":"","extFields":{"subscription":"","queueId":2,"ok":true,"n":null}}"#;
    let c = decode_raw(&raw_frame(0, h, b"b")).unwrap();
    assert_eq!(c.language, LanguageCode::GO);
    assert_eq!(c.ext("subscription"), None);
    assert_eq!(c.ext("queueId"), Some("2"));
    assert_eq!(c.ext("ok"), Some("true"));
    assert_eq!(&c.body[..], b"b");
    // Values that are not strings keep their JSON text.
    let h = br#"{"code":10,"extFields":{"neg":-3,"f":1.5,"arr":[1,"a"],"obj":{"x":null},"s":"q\"\u0001"}}"#;
    let c = decode_raw(&raw_frame(0, h, b"")).unwrap();
    assert_eq!(c.ext("neg"), Some("-3"));
    assert_eq!(c.ext("f"), Some("1.5"));
    assert_eq!(c.ext("arr"), Some(r#"[1,"a"]"#));
    assert_eq!(c.ext("obj"), Some(r#"{"x":null}"#));
    assert_eq!(c.ext("s"), Some("q\"\u{1}"));
    for bad in [
        &br#"{"code":10,"language":300}"#[..],
        br#"{"code":10,"language":-1}"#,
    ] {
        assert!(matches!(
            decode_raw(&raw_frame(0, bad, b"")),
            Err(DecodeError::Json(_))
        ));
    }
    let c = decode_raw(&raw_frame(
        0,
        br#"{"code":34,"language":12,"extFields":null}"#,
        b"",
    ))
    .unwrap();
    assert_eq!(c.language, LanguageCode::RUST);
    assert_eq!(c.ext_fields, None);
    let c = decode_raw(&raw_frame(0, br#"{"code":34,"language":"KLINGON"}"#, b"")).unwrap();
    assert_eq!(c.language, LanguageCode::OTHER);
}

#[test]
fn json_writer_escapes_and_orders_like_java() {
    let mut c = RemotingCommand::request(40, ExtFields(vec![("k".into(), "a\u{1}b".into())]));
    c.flag = 2;
    let raw = frame_of(&c);
    let header = std::str::from_utf8(&raw[8..]).unwrap();
    assert_eq!(
        header,
        r#"{"code":40,"extFields":{"k":"a\u0001b"},"flag":2,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":407}"#
    );
}

#[test]
fn truncated_binary_headers_are_named_errors() {
    let raw = frame_of(&sample(SerializeType::RocketMq));
    let header_len = u32::from_be_bytes(raw[4..8].try_into().unwrap()) as usize & 0xFF_FFFF;
    let header = &raw[8..8 + header_len];
    for cut in 0..header.len() {
        let r = decode_raw(&raw_frame(1, &header[..cut], b""));
        assert!(r.is_err(), "cut at {cut}");
    }
    // Negative remark length.
    let mut bad = header.to_vec();
    bad[13..17].copy_from_slice(&(-1i32).to_be_bytes());
    assert!(decode_raw(&raw_frame(1, &bad, b"")).is_err());
}

#[test]
fn stored_message_prefixes_never_panic() {
    let rec = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden/remoting/java497-0247-resp-code0.bin"),
    )
    .ok();
    // A captured pull body (several records); every prefix must fail cleanly.
    let body = rec
        .map(|r| {
            let mut b = BytesMut::from(&r[..]);
            decode_frame(&split_frame(&mut b, DEFAULT_MAX_FRAME).unwrap().unwrap())
                .unwrap()
                .body
        })
        .unwrap_or_else(|| Bytes::from_static(b"\x00\x00\x00\x10garbagegarbage"));
    for cut in 0..body.len().min(2000) {
        let _ = decode_messages(&body.slice(..cut));
        let _ = decode_message(&body.slice(..cut));
        let _ = decode_batch(&body.slice(..cut));
    }
    assert!(decode_batch(&Bytes::from_static(b"\x00\x00\x00\x05junk")).is_err());
    assert!(decode_batch(&Bytes::from_static(b"\x7f\xff\xff\xff")).is_err());
}

fn any_ext() -> impl Strategy<Value = Option<ExtFields>> {
    proptest::option::of(
        proptest::collection::vec(("[a-zA-Z_]{1,8}", "[^\u{0}]{1,12}"), 0..6).prop_map(|v| {
            let mut e = ExtFields::default();
            for (k, val) in v {
                e.insert(k, val);
            }
            e
        }),
    )
}

proptest! {
    #[test]
    fn header_roundtrip(
        code in any::<i16>(),
        opaque in any::<i32>(),
        flag in 0i32..4,
        version in any::<i16>(),
        lang in 0u8..14,
        remark in proptest::option::of("[^\u{0}]{1,20}"),
        ext in any_ext(),
        body in proptest::collection::vec(any::<u8>(), 0..64),
        binary in any::<bool>(),
    ) {
        let cmd = RemotingCommand {
            code: code as i32,
            language: LanguageCode(lang),
            version: version as i32,
            opaque,
            flag,
            remark,
            ext_fields: ext.filter(|e| !binary || !e.is_empty()),
            serialize_type: if binary { SerializeType::RocketMq } else { SerializeType::Json },
            body: Bytes::from(body),
        };
        let back = decode_raw(&frame_of(&cmd)).unwrap();
        prop_assert_eq!(back, cmd);
    }

    #[test]
    fn random_frames_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut buf = BytesMut::from(&data[..]);
        if let Ok(Some(f)) = split_frame(&mut buf, DEFAULT_MAX_FRAME) {
            let _ = decode_frame(&f);
        }
        let _ = decode_messages(&Bytes::from(data.clone()));
        let _ = decode_batch(&Bytes::from(data));
    }
}
