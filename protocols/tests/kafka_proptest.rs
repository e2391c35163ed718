//! Property tests of the Kafka codec: v2 batches round-trip through
//! build → validate → decode, down-conversion preserves keys and values,
//! primitives round-trip in classic and compact encodings, and arbitrary
//! bytes never make a request decoder panic.

use bytes::Bytes;
use proptest::prelude::*;
use rokka_protocols::kafka::records::{
    build_v2_batch, decode_message_set, decode_v2_records, down_convert, validate_v2, Record,
};
use rokka_protocols::kafka::request::decode_request;
use rokka_protocols::kafka::{Reader, Writer};

fn record() -> impl Strategy<Value = Record> {
    (
        0i64..2_000_000_000_000,
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..16)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        proptest::collection::vec(
            (
                proptest::collection::vec(any::<u8>(), 0..8),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
            ),
            0..3,
        ),
    )
        .prop_map(|(timestamp, key, value, headers)| Record {
            timestamp,
            key: key.map(Bytes::from),
            value: value.map(Bytes::from),
            headers: headers
                .into_iter()
                .map(|(k, v)| (Bytes::from(k), v.map(Bytes::from)))
                .collect(),
        })
}

proptest! {
    #[test]
    fn v2_batches_round_trip(recs in proptest::collection::vec(record(), 1..20)) {
        let b = build_v2_batch(0, &recs);
        let v = validate_v2(&b).unwrap();
        prop_assert_eq!(v.count as usize, recs.len());
        prop_assert_eq!(decode_v2_records(&b).unwrap(), recs);
    }

    #[test]
    fn down_conversion_keeps_keys_and_values(recs in proptest::collection::vec(record(), 1..10), magic in 0i8..=1) {
        let b = build_v2_batch(0, &recs);
        let set = down_convert(&[b], magic, 0, usize::MAX).unwrap();
        let back = decode_message_set(&set, 0).unwrap();
        prop_assert_eq!(back.len(), recs.len());
        for (a, r) in back.iter().zip(&recs) {
            prop_assert_eq!(&a.key, &r.key);
            prop_assert_eq!(&a.value, &r.value);
        }
    }

    #[test]
    fn primitives_round_trip(flex: bool, s in proptest::option::of("[a-z]{0,40}"), n: i64, v: u32) {
        let mut w = Writer::new(flex);
        w.nstr(s.as_deref());
        w.i64(n);
        w.uvarint(v);
        w.nbytes(s.as_deref().map(str::as_bytes));
        w.tags();
        let b = w.to_bytes();
        let mut r = Reader::new(&b, 0, flex);
        prop_assert_eq!(r.nstr("s").unwrap(), s.clone());
        prop_assert_eq!(r.i64("n").unwrap(), n);
        prop_assert_eq!(r.uvarint("v").unwrap(), v);
        prop_assert_eq!(r.nbytes("b").unwrap().map(|b| b.to_vec()), s.map(String::into_bytes));
        r.tags().unwrap();
        prop_assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn arbitrary_frames_never_panic(key in 0i16..40, version in 0i16..14, body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut f = Vec::new();
        f.extend_from_slice(&key.to_be_bytes());
        f.extend_from_slice(&version.to_be_bytes());
        f.extend_from_slice(&7i32.to_be_bytes());
        f.extend_from_slice(&(-1i16).to_be_bytes());
        f.extend_from_slice(&body);
        let _ = decode_request(&Bytes::from(f));
    }

    #[test]
    fn arbitrary_record_sets_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let b = Bytes::from(data);
        let _ = validate_v2(&b);
        let _ = decode_message_set(&b, 0);
        let _ = decode_v2_records(&b);
    }
}
