//! Kafka request decoder: one request frame (its 4-byte size prefix
//! removed), header then the API body chosen by (api_key, api_version),
//! as the broker's connection loop hands it over.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rokka_protocols::kafka::request::decode_request;

fuzz_target!(|data: &[u8]| {
    let _ = decode_request(&Bytes::copy_from_slice(data));
});
