//! DescribeUserScramCredentials (50) and AlterUserScramCredentials (51):
//! what `kafka-configs.sh --entity-type users --alter --add-config
//! 'SCRAM-SHA-256=[iterations=8192,password=...]'` sends. The client salts
//! the password itself; the store keeps StoredKey/ServerKey only (ADR 016).
//! Both need Describe/Alter on the cluster when the authorizer is on.

use std::collections::BTreeSet;

use rokka_protocols::kafka::scram_credentials::{self, DescribeResult};

use super::request::{CloseReason, Request};
use super::KafkaContext;
use crate::security::scram::{ScramCredential, MAX_ITERATIONS, MIN_ITERATIONS};
use crate::security::{mechanism_code, mechanism_from_code};

const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
const RESOURCE_NOT_FOUND: i16 = 91;
const DUPLICATE_RESOURCE: i16 = 92;
const UNACCEPTABLE_CREDENTIAL: i16 = 93;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const UNKNOWN_SERVER_ERROR: i16 = -1;

/// Handles DescribeUserScramCredentials.
pub fn describe(
    ctx: &KafkaContext,
    req: &Request<'_>,
) -> Result<rokka_protocols::kafka::Writer, CloseReason> {
    let mut r = req.reader();
    let users = scram_credentials::decode_describe(&mut r).map_err(|e| req.bad_body(e))?;
    let mut w = req.writer();
    if !super::acls::allowed_cluster(ctx, req, crate::security::acl::op::DESCRIBE) {
        scram_credentials::encode_describe_response(
            &mut w,
            CLUSTER_AUTHORIZATION_FAILED,
            None,
            &[],
        );
        return Ok(w);
    }
    let all = ctx.broker.security.scram.describe();
    let result = |user: &str| match all.get(user) {
        Some(list) => DescribeResult {
            user: user.to_string(),
            error_code: 0,
            error_message: None,
            credentials: list.iter().map(|(m, i)| (mechanism_code(*m), *i)).collect(),
        },
        None => DescribeResult {
            user: user.to_string(),
            error_code: RESOURCE_NOT_FOUND,
            error_message: Some("Attempt to describe a user credential that does not exist".into()),
            credentials: Vec::new(),
        },
    };
    let results: Vec<DescribeResult> = match users {
        None => all.keys().map(|u| result(u)).collect(),
        Some(list) if list.is_empty() => all.keys().map(|u| result(u)).collect(),
        Some(list) => {
            let mut seen = BTreeSet::new();
            let dups: BTreeSet<&String> = list.iter().filter(|u| !seen.insert(*u)).collect();
            let mut done = BTreeSet::new();
            list.iter()
                .filter(|u| done.insert(*u))
                .map(|u| {
                    if dups.contains(u) {
                        DescribeResult {
                            user: u.clone(),
                            error_code: DUPLICATE_RESOURCE,
                            error_message: Some("Cannot describe SCRAM credentials for the same user twice in a single request".into()),
                            credentials: Vec::new(),
                        }
                    } else {
                        result(u)
                    }
                })
                .collect()
        }
    };
    scram_credentials::encode_describe_response(&mut w, 0, None, &results);
    Ok(w)
}

/// Handles AlterUserScramCredentials.
pub fn alter(
    ctx: &KafkaContext,
    req: &Request<'_>,
) -> Result<rokka_protocols::kafka::Writer, CloseReason> {
    let mut r = req.reader();
    let (deletions, upsertions) =
        scram_credentials::decode_alter(&mut r).map_err(|e| req.bad_body(e))?;
    let mut users: Vec<String> = deletions
        .iter()
        .map(|d| d.name.clone())
        .chain(upsertions.iter().map(|u| u.name.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    users.sort();
    let mut w = req.writer();
    if !super::acls::allowed_cluster(ctx, req, crate::security::acl::op::ALTER) {
        let results: Vec<_> = users
            .iter()
            .map(|u| (u.clone(), CLUSTER_AUTHORIZATION_FAILED, None))
            .collect();
        scram_credentials::encode_alter_response(&mut w, &results);
        return Ok(w);
    }
    // Per user: the first problem found, else success.
    let mut errors: std::collections::BTreeMap<String, (i16, String)> = Default::default();
    fn fail(
        errors: &mut std::collections::BTreeMap<String, (i16, String)>,
        u: &str,
        code: i16,
        msg: &str,
    ) {
        errors
            .entry(u.to_string())
            .or_insert((code, msg.to_string()));
    }
    let mut delete = Vec::new();
    for d in &deletions {
        match mechanism_from_code(d.mechanism) {
            Some(m) => delete.push((d.name.clone(), m)),
            None => fail(
                &mut errors,
                &d.name,
                UNSUPPORTED_SASL_MECHANISM,
                "Unknown SCRAM mechanism",
            ),
        }
    }
    let mut upsert = Vec::new();
    for u in &upsertions {
        let Some(m) = mechanism_from_code(u.mechanism) else {
            fail(
                &mut errors,
                &u.name,
                UNSUPPORTED_SASL_MECHANISM,
                "Unknown SCRAM mechanism",
            );
            continue;
        };
        if u.iterations < MIN_ITERATIONS {
            fail(
                &mut errors,
                &u.name,
                UNACCEPTABLE_CREDENTIAL,
                "Too few iterations",
            );
        } else if u.iterations > MAX_ITERATIONS {
            fail(
                &mut errors,
                &u.name,
                UNACCEPTABLE_CREDENTIAL,
                "Too many iterations",
            );
        } else if u.salt.is_empty() || u.salted_password.is_empty() {
            fail(
                &mut errors,
                &u.name,
                UNACCEPTABLE_CREDENTIAL,
                "Empty salt or salted password",
            );
        } else {
            let c = ScramCredential::from_salted(m, &u.salt, &u.salted_password, u.iterations);
            upsert.push((u.name.clone(), m, c));
        }
    }
    // Users with an error change nothing (Kafka applies per user).
    delete.retain(|(u, _)| !errors.contains_key(u));
    upsert.retain(|(u, _, _)| !errors.contains_key(u));
    let deleted_users: Vec<String> = delete.iter().map(|(u, _)| u.clone()).collect();
    match ctx.broker.security.scram.alter(&delete, upsert) {
        Ok(found) => {
            for (u, ok) in deleted_users.iter().zip(found) {
                if !ok {
                    fail(
                        &mut errors,
                        u,
                        RESOURCE_NOT_FOUND,
                        "Attempt to delete a user credential that does not exist",
                    );
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot persist SCRAM credentials");
            for u in &users {
                fail(
                    &mut errors,
                    u,
                    UNKNOWN_SERVER_ERROR,
                    "cannot persist the credentials",
                );
            }
        }
    }
    let results: Vec<_> = users
        .iter()
        .map(|u| match errors.get(u) {
            Some((c, m)) => (u.clone(), *c, Some(m.clone())),
            None => (u.clone(), 0, None),
        })
        .collect();
    scram_credentials::encode_alter_response(&mut w, &results);
    Ok(w)
}
