//! DescribeUserScramCredentials (key 50) and AlterUserScramCredentials
//! (key 51), version 0 of each (flexible). Mechanism codes: 1 =
//! SCRAM-SHA-256, 2 = SCRAM-SHA-512. The client sends the *salted* password
//! (`Hi(password, salt, iterations)`), never the password itself.
//!
//! ```text
//! describe request   users [name str, tags] (null = all), tags
//! describe response  throttle_time_ms i32, error_code i16, error_message nstr,
//!                    results [user str, error_code i16, error_message nstr,
//!                             credential_infos [mechanism i8, iterations i32, tags], tags], tags
//! alter request      deletions [name str, mechanism i8, tags],
//!                    upsertions [name str, mechanism i8, iterations i32,
//!                                salt bytes, salted_password bytes, tags], tags
//! alter response     throttle_time_ms i32, results [user str, error_code i16,
//!                    error_message nstr, tags], tags
//! ```

use bytes::Bytes;

use super::{DecodeError, Reader, Writer};

/// Decodes a DescribeUserScramCredentials request: `None` = every user.
pub fn decode_describe(r: &mut Reader<'_>) -> Result<Option<Vec<String>>, DecodeError> {
    let users = r.narray("users", |r| {
        let n = r.str("name")?;
        r.tags()?;
        Ok(n)
    })?;
    r.tags()?;
    Ok(users)
}

/// One user's answer: error, or (mechanism, iterations) per credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeResult {
    /// The user.
    pub user: String,
    /// Error code (RESOURCE_NOT_FOUND 91, DUPLICATE_RESOURCE 92, ...).
    pub error_code: i16,
    /// Why.
    pub error_message: Option<String>,
    /// (mechanism code, iterations).
    pub credentials: Vec<(i8, i32)>,
}

/// Encodes a DescribeUserScramCredentials response.
pub fn encode_describe_response(
    w: &mut Writer,
    error_code: i16,
    error_message: Option<&str>,
    results: &[DescribeResult],
) {
    w.i32(0);
    w.i16(error_code);
    w.nstr(error_message);
    w.array(results, |w, r| {
        w.str(&r.user);
        w.i16(r.error_code);
        w.nstr(r.error_message.as_deref());
        w.array(&r.credentials, |w, (m, i)| {
            w.i8(*m);
            w.i32(*i);
            w.tags();
        });
        w.tags();
    });
    w.tags();
}

/// A credential to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// The user.
    pub name: String,
    /// Mechanism code.
    pub mechanism: i8,
}

/// A credential to add or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upsertion {
    /// The user.
    pub name: String,
    /// Mechanism code.
    pub mechanism: i8,
    /// PBKDF2 iterations.
    pub iterations: i32,
    /// The salt.
    pub salt: Bytes,
    /// `Hi(password, salt, iterations)`.
    pub salted_password: Bytes,
}

/// Decodes an AlterUserScramCredentials request.
pub fn decode_alter(r: &mut Reader<'_>) -> Result<(Vec<Deletion>, Vec<Upsertion>), DecodeError> {
    let deletions = r.array("deletions", |r| {
        let d = Deletion {
            name: r.str("name")?,
            mechanism: r.i8("mechanism")?,
        };
        r.tags()?;
        Ok(d)
    })?;
    let upsertions = r.array("upsertions", |r| {
        let u = Upsertion {
            name: r.str("name")?,
            mechanism: r.i8("mechanism")?,
            iterations: r.i32("iterations")?,
            salt: r.bytes("salt")?,
            salted_password: r.bytes("salted_password")?,
        };
        r.tags()?;
        Ok(u)
    })?;
    r.tags()?;
    Ok((deletions, upsertions))
}

/// Encodes an AlterUserScramCredentials response: (user, error, message).
pub fn encode_alter_response(w: &mut Writer, results: &[(String, i16, Option<String>)]) {
    w.i32(0);
    w.array(results, |w, (u, c, m)| {
        w.str(u);
        w.i16(*c);
        w.nstr(m.as_deref());
        w.tags();
    });
    w.tags();
}
