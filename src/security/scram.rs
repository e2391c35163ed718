//! SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka runs it:
//! the server side of the exchange and the salted credentials it checks
//! against. Only `salt`, `StoredKey`, `ServerKey` and the iteration count are
//! kept — never the password. HMAC, digests and PBKDF2 come from ring.
//!
//! ```text
//! client-first  n,[a=authzid],n=<user>,r=<cnonce>[,ext]
//! server-first  r=<cnonce><snonce>,s=<base64 salt>,i=<iterations>
//! client-final  c=<base64 gs2 header>,r=<nonce>,p=<base64 proof>
//! server-final  v=<base64 ServerSignature>
//! ```

use std::num::NonZeroU32;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::rand::SecureRandom;
use ring::{digest, hmac, pbkdf2};
use serde::{Deserialize, Serialize};

use crate::config::security::SaslMechanism;

/// Kafka's bounds on iterations (ScramMechanism: 4096..=16384).
pub const MIN_ITERATIONS: i32 = 4096;
/// See [`MIN_ITERATIONS`].
pub const MAX_ITERATIONS: i32 = 16384;

/// One user's credential for one mechanism.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramCredential {
    /// Base64 salt.
    pub salt: String,
    /// Base64 `H(ClientKey)`.
    pub stored_key: String,
    /// Base64 `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: String,
    /// PBKDF2 iterations.
    pub iterations: i32,
}

impl std::fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ScramCredential(iterations={})", self.iterations)
    }
}

fn algs(
    m: SaslMechanism,
) -> (
    hmac::Algorithm,
    &'static digest::Algorithm,
    pbkdf2::Algorithm,
) {
    match m {
        SaslMechanism::ScramSha512 => (
            hmac::HMAC_SHA512,
            &digest::SHA512,
            pbkdf2::PBKDF2_HMAC_SHA512,
        ),
        _ => (
            hmac::HMAC_SHA256,
            &digest::SHA256,
            pbkdf2::PBKDF2_HMAC_SHA256,
        ),
    }
}

fn mac(m: SaslMechanism, key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(algs(m).0, key), data)
        .as_ref()
        .to_vec()
}

impl ScramCredential {
    /// From `SaltedPassword = Hi(password, salt, i)`, what
    /// AlterUserScramCredentials carries.
    pub fn from_salted(m: SaslMechanism, salt: &[u8], salted: &[u8], iterations: i32) -> Self {
        let client_key = mac(m, salted, b"Client Key");
        let stored_key = digest::digest(algs(m).1, &client_key);
        ScramCredential {
            salt: B64.encode(salt),
            stored_key: B64.encode(stored_key.as_ref()),
            server_key: B64.encode(mac(m, salted, b"Server Key")),
            iterations,
        }
    }

    /// From a password (tests, tools): `Hi()` is PBKDF2 with the mechanism's HMAC.
    pub fn from_password(m: SaslMechanism, password: &str, salt: &[u8], iterations: i32) -> Self {
        let salted = salted_password(m, password, salt, iterations);
        Self::from_salted(m, salt, &salted, iterations)
    }
}

/// `Hi(password, salt, i)`.
pub fn salted_password(m: SaslMechanism, password: &str, salt: &[u8], iterations: i32) -> Vec<u8> {
    let (_, d, p) = algs(m);
    let mut out = vec![0u8; d.output_len()];
    let n = NonZeroU32::new(iterations.max(1) as u32).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(p, n, salt, password.as_bytes(), &mut out);
    out
}

/// Why an exchange failed (the client is told only "invalid credentials").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    /// The message does not follow RFC 5802.
    #[error("malformed SCRAM message: {0}")]
    Malformed(&'static str),
    /// Unknown user, wrong proof or nonce, or a changed authorization id.
    #[error("invalid credentials")]
    Invalid,
}

/// The server's state between the two client messages.
#[derive(Debug)]
pub struct ScramExchange {
    mechanism: SaslMechanism,
    user: String,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
    credential: Option<ScramCredential>,
}

fn attr(part: Option<&str>, name: char) -> Result<&str, ScramError> {
    part.and_then(|p| p.strip_prefix(name))
        .and_then(|p| p.strip_prefix('='))
        .ok_or(ScramError::Malformed("missing attribute"))
}

/// `=2C` → `,` and `=3D` → `=`; any other `=` is malformed.
fn unescape_name(s: &str) -> Result<String, ScramError> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(ScramError::Malformed("bad escape in user name")),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

impl ScramExchange {
    /// The mechanism of the exchange.
    pub fn mechanism(&self) -> SaslMechanism {
        self.mechanism
    }

    /// Reads client-first and answers server-first. `lookup` finds the
    /// user's credential; an unknown user still gets a server-first (with a
    /// random salt) and fails at the proof, so user names are not probed.
    pub fn start(
        mechanism: SaslMechanism,
        client_first: &[u8],
        lookup: impl FnOnce(&str) -> Option<ScramCredential>,
    ) -> Result<(ScramExchange, Vec<u8>), ScramError> {
        let msg =
            std::str::from_utf8(client_first).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        let mut parts = msg.splitn(3, ',');
        let cbind = parts.next().unwrap_or_default();
        if cbind != "n" && cbind != "y" {
            return Err(ScramError::Malformed("channel binding is not supported"));
        }
        let authzid = parts.next().ok_or(ScramError::Malformed("no gs2 header"))?;
        let bare = parts
            .next()
            .ok_or(ScramError::Malformed("no client-first-bare"))?;
        let mut fields = bare.split(',');
        let user = unescape_name(attr(fields.next(), 'n')?)?;
        let cnonce = attr(fields.next(), 'r')?;
        if user.is_empty() || cnonce.is_empty() {
            return Err(ScramError::Malformed("empty user or nonce"));
        }
        if let Some(a) = authzid.strip_prefix("a=") {
            if unescape_name(a)? != user {
                return Err(ScramError::Invalid);
            }
        } else if !authzid.is_empty() {
            return Err(ScramError::Malformed("bad authzid"));
        }
        let credential = lookup(&user);
        let rng = ring::rand::SystemRandom::new();
        let mut snonce = [0u8; 24];
        rng.fill(&mut snonce)
            .map_err(|_| ScramError::Malformed("no randomness"))?;
        let (salt, iterations) = match &credential {
            Some(c) => (c.salt.clone(), c.iterations),
            None => {
                let mut s = [0u8; 16];
                let _ = rng.fill(&mut s);
                (B64.encode(s), MIN_ITERATIONS)
            }
        };
        let nonce = format!("{cnonce}{}", B64.encode(snonce));
        let server_first = format!("r={nonce},s={salt},i={iterations}");
        let reply = server_first.clone().into_bytes();
        Ok((
            ScramExchange {
                mechanism,
                user,
                gs2_header: format!("{cbind},{authzid},"),
                client_first_bare: bare.to_string(),
                server_first,
                nonce,
                credential,
            },
            reply,
        ))
    }

    /// Reads client-final, checks the proof and returns (user, server-final).
    pub fn finish(self, client_final: &[u8]) -> Result<(String, Vec<u8>), ScramError> {
        let msg =
            std::str::from_utf8(client_final).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        let (without_proof, proof) = msg
            .rsplit_once(",p=")
            .ok_or(ScramError::Malformed("no proof"))?;
        let mut fields = without_proof.split(',');
        let cbind = B64
            .decode(attr(fields.next(), 'c')?)
            .map_err(|_| ScramError::Malformed("bad channel binding"))?;
        if cbind != self.gs2_header.as_bytes() {
            return Err(ScramError::Invalid);
        }
        if attr(fields.next(), 'r')? != self.nonce {
            return Err(ScramError::Invalid);
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| ScramError::Malformed("bad proof"))?;
        let cred = self.credential.as_ref().ok_or(ScramError::Invalid)?;
        let stored_key = B64
            .decode(&cred.stored_key)
            .map_err(|_| ScramError::Invalid)?;
        let server_key = B64
            .decode(&cred.server_key)
            .map_err(|_| ScramError::Invalid)?;
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, self.server_first, without_proof
        );
        let m = self.mechanism;
        let signature = mac(m, &stored_key, auth_message.as_bytes());
        if proof.len() != signature.len() {
            return Err(ScramError::Invalid);
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        let computed = digest::digest(algs(m).1, &client_key);
        #[allow(deprecated)]
        let same = ring::constant_time::verify_slices_are_equal(computed.as_ref(), &stored_key);
        if same.is_err() {
            return Err(ScramError::Invalid);
        }
        let server_signature = mac(m, &server_key, auth_message.as_bytes());
        Ok((
            self.user,
            format!("v={}", B64.encode(server_signature)).into_bytes(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 §3 test vector (SCRAM-SHA-256, user "user", password "pencil").
    #[test]
    fn rfc7677_vector() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let cred =
            ScramCredential::from_password(SaslMechanism::ScramSha256, "pencil", &salt, 4096);
        let (mut ex, _) = ScramExchange::start(
            SaslMechanism::ScramSha256,
            b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
            |u| (u == "user").then(|| cred.clone()),
        )
        .unwrap();
        // Pin the server nonce and first message to the RFC's.
        ex.nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".to_string();
        ex.server_first = format!("r={},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", ex.nonce);
        let (user, fin) = ex
            .finish(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                  p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            )
            .unwrap();
        assert_eq!(user, "user");
        assert_eq!(fin, b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    }

    fn client_run(
        m: SaslMechanism,
        stored: Option<ScramCredential>,
        password: &str,
    ) -> Result<String, ScramError> {
        let cfirst_bare = "n=al=2Cice,r=abcdef";
        let (ex, sfirst) = ScramExchange::start(m, format!("n,,{cfirst_bare}").as_bytes(), |u| {
            assert_eq!(u, "al,ice");
            stored
        })?;
        let sfirst = String::from_utf8(sfirst).unwrap();
        let mut it = sfirst.split(',');
        let nonce = &it.next().unwrap()[2..];
        let salt = B64.decode(&it.next().unwrap()[2..]).unwrap();
        let iters: i32 = it.next().unwrap()[2..].parse().unwrap();
        let salted = salted_password(m, password, &salt, iters);
        let client_key = mac(m, &salted, b"Client Key");
        let stored_key = digest::digest(algs(m).1, &client_key);
        let without = format!("c=biws,r={nonce}");
        let auth = format!("{cfirst_bare},{sfirst},{without}");
        let sig = mac(m, stored_key.as_ref(), auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        let (user, fin) = ex.finish(format!("{without},p={}", B64.encode(proof)).as_bytes())?;
        let expect = mac(m, &mac(m, &salted, b"Server Key"), auth.as_bytes());
        assert_eq!(fin, format!("v={}", B64.encode(expect)).into_bytes());
        Ok(user)
    }

    #[test]
    fn exchange_right_and_wrong_password_both_mechanisms() {
        for m in [SaslMechanism::ScramSha256, SaslMechanism::ScramSha512] {
            let cred = ScramCredential::from_password(m, "s3cret", b"salt-bytes", 4096);
            assert_eq!(
                client_run(m, Some(cred.clone()), "s3cret").unwrap(),
                "al,ice"
            );
            assert_eq!(client_run(m, Some(cred), "wrong"), Err(ScramError::Invalid));
            assert_eq!(client_run(m, None, "s3cret"), Err(ScramError::Invalid));
        }
    }

    #[test]
    fn malformed_messages_are_refused() {
        let m = SaslMechanism::ScramSha256;
        for bad in [
            &b""[..],
            b"p=tls-unique,,n=a,r=b",
            b"n,,r=b",
            b"n,,n=a",
            b"n,,n=a=,r=x",
            b"\xff",
        ] {
            assert!(ScramExchange::start(m, bad, |_| None).is_err(), "{bad:?}");
        }
        let (ex, _) = ScramExchange::start(m, b"n,,n=a,r=b", |_| None).unwrap();
        assert!(ex.finish(b"c=biws,r=b").is_err());
    }
}
