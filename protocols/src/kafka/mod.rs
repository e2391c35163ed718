//! The Kafka wire protocol (filled in by the Kafka front-end issue).
