//! Round-trip property tests of CreateAcls, DescribeAcls and DeleteAcls:
//! `decode(encode(x)) == x` with every byte consumed, at every advertised
//! version (version 0 carries no pattern type, so its cases use LITERAL).

use bytes::Bytes;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use rokka_protocols::kafka::acls::*;
use rokka_protocols::kafka::{is_flexible, support, ApiKey, DecodeError, Reader, Writer};

fn rt<T: PartialEq + std::fmt::Debug>(
    x: &T,
    flex: bool,
    enc: impl FnOnce(&T, &mut Writer),
    dec: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<(), TestCaseError> {
    let mut w = Writer::new(flex);
    enc(x, &mut w);
    let b: Bytes = w.to_bytes();
    let mut r = Reader::new(&b, 0, flex);
    let y = dec(&mut r).map_err(|e| TestCaseError::fail(format!("decode: {e}")))?;
    prop_assert_eq!(&y, x);
    prop_assert_eq!(r.remaining(), 0, "bytes left after decode");
    Ok(())
}

fn flex(key: ApiKey, version: i16) -> bool {
    is_flexible(key, version)
}

#[test]
fn kafka_3x_versions_are_advertised() {
    for key in [
        ApiKey::CREATE_ACLS,
        ApiKey::DESCRIBE_ACLS,
        ApiKey::DELETE_ACLS,
    ] {
        let s = support(key).expect("advertised");
        assert_eq!((s.min, s.max, s.flex), (0, 3, 2), "{key:?}");
    }
}

fn s() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9:*._-]{0,12}"
}

fn pat(version: i16) -> BoxedStrategy<i8> {
    if version == 0 {
        Just(LITERAL).boxed()
    } else {
        (1i8..=4).boxed()
    }
}

fn binding(version: i16) -> impl Strategy<Value = AclBinding> {
    (1i8..=5, s(), pat(version), s(), s(), 1i8..=12, 1i8..=3).prop_map(
        |(
            resource_type,
            resource_name,
            pattern_type,
            principal,
            host,
            operation,
            permission_type,
        )| {
            AclBinding {
                resource_type,
                resource_name,
                pattern_type,
                principal,
                host,
                operation,
                permission_type,
            }
        },
    )
}

fn filter(version: i16) -> impl Strategy<Value = AclFilter> {
    (
        1i8..=5,
        of(s()),
        pat(version),
        of(s()),
        of(s()),
        1i8..=12,
        1i8..=3,
    )
        .prop_map(
            |(
                resource_type,
                resource_name,
                pattern_type,
                principal,
                host,
                operation,
                permission_type,
            )| {
                AclFilter {
                    resource_type,
                    resource_name,
                    pattern_type,
                    principal,
                    host,
                    operation,
                    permission_type,
                }
            },
        )
}

/// Bindings in the order the response groups them (by resource, first seen).
fn grouped(mut bs: Vec<AclBinding>) -> Vec<AclBinding> {
    let mut out: Vec<AclBinding> = Vec::new();
    while !bs.is_empty() {
        let k = (
            bs[0].resource_type,
            bs[0].resource_name.clone(),
            bs[0].pattern_type,
        );
        let (same, rest): (Vec<_>, Vec<_>) = bs
            .into_iter()
            .partition(|b| (b.resource_type, b.resource_name.clone(), b.pattern_type) == k);
        out.extend(same);
        bs = rest;
    }
    out
}

proptest! {
    #[test]
    fn create_round_trips((v, bs) in (0i16..=3).prop_flat_map(|v| (Just(v), vec(binding(v), 0..4)))) {
        let f = flex(ApiKey::CREATE_ACLS, v);
        rt(&bs, f, |x, w| encode_create(w, v, x), |r| decode_create(r, v))?;
        let results: Vec<(i16, Option<String>)> =
            bs.iter().map(|b| (b.operation as i16, Some(b.host.clone()))).collect();
        rt(&results, f, |x, w| encode_create_response(w, x), decode_create_response)?;
    }

    #[test]
    fn describe_round_trips(
        (v, filt, bs, msg) in (0i16..=3).prop_flat_map(|v| (Just(v), filter(v), vec(binding(v), 0..6), of(s())))
    ) {
        let f = flex(ApiKey::DESCRIBE_ACLS, v);
        rt(&filt, f, |x, w| encode_describe(w, v, x), |r| decode_describe(r, v))?;
        let resp = DescribeResponse { error_code: 0, error_message: msg, bindings: grouped(bs) };
        rt(&resp, f, |x, w| encode_describe_response(w, v, x), |r| decode_describe_response(r, v))?;
    }

    #[test]
    fn delete_round_trips(
        (v, fs, bs) in (0i16..=3).prop_flat_map(|v| (Just(v), vec(filter(v), 0..4), vec(binding(v), 0..3)))
    ) {
        let f = flex(ApiKey::DELETE_ACLS, v);
        rt(&fs, f, |x, w| encode_delete(w, v, x), |r| decode_delete(r, v))?;
        let results: Vec<DeleteResult> = fs.iter().map(|x| DeleteResult {
            error_code: x.operation as i16,
            error_message: x.principal.clone(),
            matching: bs.clone(),
        }).collect();
        rt(&results, f, |x, w| encode_delete_response(w, v, x), |r| decode_delete_response(r, v))?;
    }
}

#[test]
fn delete_response_carries_matching_bindings_at_v3() {
    let b = AclBinding {
        resource_type: 2,
        resource_name: "orders".into(),
        pattern_type: 4,
        principal: "User:alice".into(),
        host: "*".into(),
        operation: 4,
        permission_type: 3,
    };
    let results = vec![DeleteResult {
        error_code: 0,
        error_message: None,
        matching: vec![b.clone(), b],
    }];
    let mut w = Writer::new(true);
    encode_delete_response(&mut w, 3, &results);
    let bytes = w.to_bytes();
    let mut r = Reader::new(&bytes, 0, true);
    assert_eq!(decode_delete_response(&mut r, 3).unwrap(), results);
    assert_eq!(r.remaining(), 0);
}

#[test]
fn version_0_filter_means_literal() {
    // resource_type TOPIC, name "t", principal null, host null, op ANY, perm ANY
    let mut w = Writer::new(false);
    w.i8(2);
    w.nstr(Some("t"));
    w.nstr(None);
    w.nstr(None);
    w.i8(1);
    w.i8(1);
    let bytes = w.to_bytes();
    let mut r = Reader::new(&bytes, 0, false);
    let f = decode_describe(&mut r, 0).unwrap();
    assert_eq!(f.pattern_type, LITERAL);
    assert_eq!(f.resource_name.as_deref(), Some("t"));
    assert_eq!(r.remaining(), 0);
}
