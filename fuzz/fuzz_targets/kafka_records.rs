//! Kafka record decoder: a Produce request's `records` field, split into
//! entries; v2 batches validated as the produce path does (CRC first) and
//! also decoded record by record without the CRC gate, so the fuzzer reaches
//! the varint and decompression code; MessageSet v0/v1 decoded as the
//! produce path converts it.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rokka_protocols::kafka::records::{
    decode_message_set, decode_v2_records, split_entries, validate_v2,
};

fuzz_target!(|data: &[u8]| {
    let records = Bytes::copy_from_slice(data);
    let Ok(entries) = split_entries(&records) else {
        return;
    };
    for (magic, entry) in entries {
        if magic == 2 {
            let _ = validate_v2(&entry);
            let _ = decode_v2_records(&entry);
        } else {
            let _ = decode_message_set(&entry, 0);
        }
    }
});
