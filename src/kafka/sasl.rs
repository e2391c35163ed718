//! Kafka SASL on a connection (ADR 016): the state machine Kafka's
//! `SaslServerAuthenticator` runs before any other request is served.
//!
//! ```text
//! start ──ApiVersions──> start
//!   └──SaslHandshake v1──> handshaken ──SaslAuthenticate──> (SCRAM: final) ──> authenticated
//!   └──SaslHandshake v0──> handshaken ──raw token──────────> (SCRAM: final) ──> authenticated
//! authenticated ──SaslHandshake (re-authentication, KIP-368)──> handshaken
//! ```
//!
//! A request other than ApiVersions/SaslHandshake before authentication, an
//! unknown mechanism, bad credentials or a malformed token close the
//! connection (after the error response where Kafka sends one); a session
//! past `connections.max.reauth.ms` is closed at its next request. Each
//! attempt is counted in `rokka_authentications_total{listener, mechanism,
//! result}`; failures log one rate-limited WARN line without the user name
//! or any token.

use std::sync::Arc;

use bytes::Bytes;
use rokka_protocols::kafka::header::parse_request_header;
use rokka_protocols::kafka::sasl_authenticate::{self, SaslAuthenticateResponse};
use rokka_protocols::kafka::{
    sasl_handshake, ApiKey, Reader, RequestHeader, ResponseHeader, Writer,
};
use tokio::time::Instant;

use super::listener::Listener;
use super::KafkaContext;
use crate::config::security::SaslMechanism;
use crate::security::scram::ScramExchange;
use crate::security::{count_authentication, Principal};

/// UNSUPPORTED_SASL_MECHANISM.
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
/// ILLEGAL_SASL_STATE.
const ILLEGAL_SASL_STATE: i16 = 34;
/// SASL_AUTHENTICATION_FAILED.
const SASL_AUTHENTICATION_FAILED: i16 = 58;

/// What the connection does with a frame.
#[derive(Debug)]
pub enum Gate {
    /// Serve it normally.
    Pass,
    /// Send this (a full response, or a raw v0 token) and go on.
    Reply(Vec<Bytes>),
    /// Send this, then close the connection for `reason`.
    ReplyAndClose(Vec<Bytes>, &'static str),
    /// Close the connection at once for `reason`.
    Close(&'static str),
}

#[derive(Debug)]
enum State {
    /// The listener has no SASL: everything passes.
    Open,
    /// Waiting for ApiVersions or SaslHandshake.
    Start,
    /// Mechanism chosen; waiting for the first token.
    Handshaken { mechanism: SaslMechanism, raw: bool },
    /// SCRAM: server-first sent; waiting for client-final.
    ScramFinal {
        exchange: Box<ScramExchange>,
        raw: bool,
    },
    /// Authenticated.
    Authenticated,
}

/// The SASL state of one connection.
#[derive(Debug)]
pub struct SaslGate {
    listener: Arc<Listener>,
    state: State,
    principal: Principal,
    session_mechanism: Option<SaslMechanism>,
    expires: Option<Instant>,
    /// The SaslAuthenticate version in use (lifetime only from v1).
    auth_version: i16,
    /// `connections.max.reauth.ms`.
    reauth: Option<std::time::Duration>,
}

impl SaslGate {
    /// The gate of a new connection on `listener`; `reauth` is
    /// `connections.max.reauth.ms`.
    pub fn new(listener: Arc<Listener>, reauth: Option<std::time::Duration>) -> SaslGate {
        let state = if listener.config.protocol.sasl() {
            State::Start
        } else {
            State::Open
        };
        SaslGate {
            listener,
            state,
            principal: Principal::anonymous(),
            session_mechanism: None,
            expires: None,
            auth_version: 0,
            reauth,
        }
    }

    /// Who the connection is (`User:ANONYMOUS` until authenticated).
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Sets the principal of a non-SASL connection (TLS client certificate).
    pub fn set_principal(&mut self, p: Principal) {
        self.principal = p;
    }

    /// Decides what happens to `frame`.
    pub fn intercept(&mut self, ctx: &KafkaContext, frame: &Bytes) -> Gate {
        match &self.state {
            State::Handshaken { raw: true, .. } | State::ScramFinal { raw: true, .. } => {
                return self.raw_token(ctx, frame.clone());
            }
            _ => {}
        }
        let Ok(header) = parse_request_header(frame) else {
            return Gate::Pass;
        };
        match header.api_key {
            ApiKey::SASL_HANDSHAKE => self.handshake(&header, frame),
            ApiKey::SASL_AUTHENTICATE => self.authenticate(ctx, &header, frame),
            ApiKey::API_VERSIONS => Gate::Pass,
            _ => match self.state {
                State::Open => Gate::Pass,
                State::Authenticated if self.expires.is_some_and(|t| Instant::now() >= t) => {
                    Gate::Close("SASL session expired (connections.max.reauth.ms)")
                }
                State::Authenticated => Gate::Pass,
                _ => Gate::Close("request before SASL authentication"),
            },
        }
    }

    fn handshake(&mut self, header: &RequestHeader, frame: &Bytes) -> Gate {
        let version = header.api_version;
        let enabled: Vec<&str> = self
            .listener
            .config
            .mechanisms
            .iter()
            .map(|m| m.name())
            .collect();
        let reply = |code: i16, list: &[&str]| {
            let mut w = Writer::new(false);
            sasl_handshake::encode_response(&mut w, version, code, list);
            respond(header, w)
        };
        match self.state {
            State::Open => return Gate::Reply(reply(ILLEGAL_SASL_STATE, &[])),
            State::Start | State::Authenticated => {}
            _ => {
                return Gate::ReplyAndClose(
                    reply(ILLEGAL_SASL_STATE, &enabled),
                    "unexpected SaslHandshake",
                )
            }
        }
        let mut r = Reader::new(frame, header.body_offset, header.flexible);
        let Ok(name) = sasl_handshake::decode_request(&mut r, version) else {
            return Gate::Close("malformed SaslHandshake");
        };
        let chosen =
            SaslMechanism::parse(&name).filter(|m| self.listener.config.mechanisms.contains(m));
        let Some(mechanism) = chosen else {
            self.failed(&name, "unsupported SASL mechanism");
            return Gate::ReplyAndClose(
                reply(UNSUPPORTED_SASL_MECHANISM, &enabled),
                "unsupported SASL mechanism",
            );
        };
        let reauth = matches!(self.state, State::Authenticated);
        if reauth && (version == 0 || self.session_mechanism != Some(mechanism)) {
            return Gate::ReplyAndClose(
                reply(ILLEGAL_SASL_STATE, &enabled),
                "re-authentication must use SaslHandshake v1+ and the same mechanism",
            );
        }
        self.state = State::Handshaken {
            mechanism,
            raw: version == 0,
        };
        Gate::Reply(reply(0, &enabled))
    }

    fn authenticate(&mut self, ctx: &KafkaContext, header: &RequestHeader, frame: &Bytes) -> Gate {
        let version = header.api_version;
        let reply = |error_code: i16, message: Option<String>, token: Vec<u8>, lifetime: i64| {
            let mut w = Writer::new(header.flexible);
            SaslAuthenticateResponse {
                error_code,
                error_message: message,
                auth_bytes: token.into(),
                session_lifetime_ms: lifetime,
            }
            .encode(&mut w, version);
            respond(header, w)
        };
        match self.state {
            State::Handshaken { raw: false, .. } | State::ScramFinal { raw: false, .. } => {}
            State::Open | State::Authenticated => {
                return Gate::Reply(reply(
                    ILLEGAL_SASL_STATE,
                    Some(
                        "SaslAuthenticate request received after successful authentication".into(),
                    ),
                    Vec::new(),
                    0,
                ))
            }
            _ => {
                return Gate::ReplyAndClose(
                    reply(
                        ILLEGAL_SASL_STATE,
                        Some("Unexpected SaslAuthenticate request".into()),
                        Vec::new(),
                        0,
                    ),
                    "SaslAuthenticate before SaslHandshake",
                )
            }
        }
        let mut r = Reader::new(frame, header.body_offset, header.flexible);
        let Ok(token) = sasl_authenticate::decode_request(&mut r, version) else {
            return Gate::Close("malformed SaslAuthenticate");
        };
        self.auth_version = version;
        match self.step(ctx, &token) {
            Ok(Step::Continue(t)) => Gate::Reply(reply(0, None, t, 0)),
            Ok(Step::Done(t)) => {
                let lifetime = self.start_session();
                Gate::Reply(reply(0, None, t, lifetime))
            }
            Err(message) => Gate::ReplyAndClose(
                reply(SASL_AUTHENTICATION_FAILED, Some(message), Vec::new(), 0),
                "SASL authentication failed",
            ),
        }
    }

    /// A v0 token: no Kafka header either way.
    fn raw_token(&mut self, ctx: &KafkaContext, token: Bytes) -> Gate {
        match self.step(ctx, &token) {
            Ok(Step::Continue(t)) => Gate::Reply(vec![Bytes::from(t)]),
            Ok(Step::Done(t)) => {
                self.start_session();
                Gate::Reply(vec![Bytes::from(t)])
            }
            Err(_) => Gate::Close("SASL authentication failed"),
        }
    }

    /// The session's lifetime in ms (0 = none) once authenticated.
    fn start_session(&mut self) -> i64 {
        self.state = State::Authenticated;
        match self.listener_reauth(self.auth_version) {
            Some(d) => {
                self.expires = Some(Instant::now() + d);
                i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
            }
            None => {
                self.expires = None;
                0
            }
        }
    }

    fn listener_reauth(&self, version: i16) -> Option<std::time::Duration> {
        // Clients re-authenticate only when told a lifetime (SaslAuthenticate v1+).
        (version >= 1).then_some(self.reauth).flatten()
    }

    fn step(&mut self, ctx: &KafkaContext, token: &[u8]) -> Result<Step, String> {
        let state = std::mem::replace(&mut self.state, State::Start);
        let (mechanism, outcome) = match state {
            State::Handshaken {
                mechanism: SaslMechanism::Plain,
                ..
            } => (
                SaslMechanism::Plain,
                plain(&self.listener, token).map(|user| (user, Vec::new())),
            ),
            State::Handshaken { mechanism, raw } => {
                let scram = &ctx.broker.security.scram;
                match ScramExchange::start(mechanism, token, |u| scram.get(u, mechanism)) {
                    Ok((exchange, first)) => {
                        self.state = State::ScramFinal {
                            exchange: Box::new(exchange),
                            raw,
                        };
                        return Ok(Step::Continue(first));
                    }
                    Err(_) => (mechanism, Err(scram_failed(mechanism))),
                }
            }
            State::ScramFinal { exchange, .. } => {
                let m = exchange.mechanism();
                (m, exchange.finish(token).map_err(|_| scram_failed(m)))
            }
            other => {
                self.state = other;
                return Err("Unexpected SASL token".to_string());
            }
        };
        match outcome {
            Ok((user, last)) => {
                let principal = Principal::user(&user);
                if self.session_mechanism.is_some() && principal != self.principal {
                    self.failed(mechanism.name(), "principal changed on re-authentication");
                    return Err("Cannot change principals during re-authentication".to_string());
                }
                count_authentication(self.listener.label, mechanism.name(), true);
                self.principal = principal;
                self.session_mechanism = Some(mechanism);
                Ok(Step::Done(last))
            }
            Err(message) => {
                self.failed(mechanism.name(), "invalid credentials");
                Err(message)
            }
        }
    }

    fn failed(&self, mechanism: &str, reason: &'static str) {
        // Unknown mechanism names are client-chosen: keep the label set fixed.
        let label = SaslMechanism::parse(mechanism).map_or("unknown", |m| m.name());
        count_authentication(self.listener.label, label, false);
        let listener = self.listener.label;
        crate::net::log_limit::warn(|suppressed| {
            tracing::warn!(
                listener,
                mechanism = label,
                reason,
                suppressed,
                "SASL authentication failed"
            );
        });
    }
}

enum Step {
    /// Send this token and wait for the next.
    Continue(Vec<u8>),
    /// Authenticated; send this last token.
    Done(Vec<u8>),
}

fn scram_failed(m: SaslMechanism) -> String {
    format!(
        "Authentication failed during authentication due to invalid credentials with SASL mechanism {}",
        m.name()
    )
}

/// RFC 4616: `[authzid] NUL authcid NUL passwd`, checked against the
/// listener's JAAS `user_<name>` entries.
fn plain(listener: &Listener, token: &[u8]) -> Result<String, String> {
    let mut parts = token.split(|b| *b == 0);
    let (Some(authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("Invalid SASL/PLAIN response: expected 3 tokens".to_string());
    };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
    let (Some(authzid), Some(user), Some(password)) = (text(authzid), text(user), text(password))
    else {
        return Err("Invalid SASL/PLAIN response: not UTF-8".to_string());
    };
    if user.is_empty() {
        return Err("Authentication failed: username not specified".to_string());
    }
    if password.is_empty() {
        return Err("Authentication failed: password not specified".to_string());
    }
    if !authzid.is_empty() && authzid != user {
        return Err(
            "Authentication failed: Client requested an authorization id that is different from username"
                .to_string(),
        );
    }
    let expected = listener.config.plain_users.0.get(&user);
    #[allow(deprecated)]
    let ok = expected.is_some_and(|e| {
        ring::constant_time::verify_slices_are_equal(e.as_bytes(), password.as_bytes()).is_ok()
    });
    if ok {
        Ok(user)
    } else {
        Err("Authentication failed: Invalid username or password".to_string())
    }
}

/// A response frame for `header` with `body`.
fn respond(header: &RequestHeader, body: Writer) -> Vec<Bytes> {
    super::request::with_header(ResponseHeader::for_request(header), body)
}
