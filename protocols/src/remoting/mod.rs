//! The RocketMQ remoting protocol (filled in by the RocketMQ front-end issue).
