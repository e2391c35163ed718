//! The one place where store errors and codec errors become Kafka error
//! codes (docs/adr/003-kafka-front-end.md, "Error mapping").

use rokka_protocols::kafka::{error_code, DecodeError};
use rokka_store::StoreError;

/// The Kafka error code for a failed append or read.
///
/// A full disk is `KAFKA_STORAGE_ERROR` (56): retriable for every client
/// and what Kafka returns when a log directory cannot take writes. A
/// poisoned or closed store is the same. Oversized batches are
/// `MESSAGE_TOO_LARGE` (10); batches the store refuses are `CORRUPT_MESSAGE` (2).
pub fn store_error_code(e: &StoreError) -> i16 {
    match e {
        StoreError::MessageTooLarge { .. } => error_code::MESSAGE_TOO_LARGE,
        StoreError::InvalidAppend { .. } => error_code::CORRUPT_MESSAGE,
        StoreError::DiskFull { .. }
        | StoreError::NoSpace { .. }
        | StoreError::Poisoned
        | StoreError::Closed => error_code::KAFKA_STORAGE_ERROR,
        StoreError::Io { .. } => error_code::KAFKA_STORAGE_ERROR,
        // A slave (or a master cut off from the Raft majority) in cluster mode.
        StoreError::SlaveReadOnly => error_code::NOT_LEADER_OR_FOLLOWER,
        _ => error_code::UNKNOWN_SERVER_ERROR,
    }
}

/// The Kafka error code for a record set that failed validation.
pub fn records_error_code(_e: &DecodeError) -> i16 {
    error_code::CORRUPT_MESSAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_store_errors() {
        assert_eq!(
            store_error_code(&StoreError::MessageTooLarge { size: 2, max: 1 }),
            10
        );
        assert_eq!(
            store_error_code(&StoreError::DiskFull {
                used_ratio: 0.99,
                limit: 0.95
            }),
            56
        );
        assert_eq!(
            store_error_code(&StoreError::InvalidAppend { reason: "x" }),
            2
        );
    }
}
