//! DescribeAcls (key 29), CreateAcls (30) and DeleteAcls (31), versions
//! 0–3 of each (flexible from 2). Version 0 has no pattern type: requests
//! mean LITERAL (3) and responses leave the field out.
//!
//! ```text
//! binding         resource_type i8, resource_name str, pattern_type i8 (v1+),
//!                 principal str, host str, operation i8, permission_type i8
//! filter          resource_type i8, resource_name nstr, pattern_type i8 (v1+),
//!                 principal nstr, host nstr, operation i8, permission_type i8
//! create request  creations [binding, tags], tags
//! create response throttle_time_ms i32, results [error_code i16, error_message nstr, tags], tags
//! describe req.   filter, tags
//! describe resp.  throttle_time_ms i32, error_code i16, error_message nstr,
//!                 resources [resource_type i8, resource_name str, pattern_type i8 (v1+),
//!                            acls [principal str, host str, operation i8,
//!                                  permission_type i8, tags], tags], tags
//! delete request  filters [filter, tags], tags
//! delete response throttle_time_ms i32, filter_results [error_code i16, error_message nstr,
//!                 matching_acls [error_code i16, error_message nstr, binding, tags], tags], tags
//! ```

use super::{DecodeError, Reader, Writer};

/// The pattern type a version-0 request means.
pub const LITERAL: i8 = 3;

/// One ACL binding as it travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclBinding {
    /// Resource type code.
    pub resource_type: i8,
    /// Resource name or prefix.
    pub resource_name: String,
    /// Pattern type code.
    pub pattern_type: i8,
    /// `User:name`.
    pub principal: String,
    /// Host or `*`.
    pub host: String,
    /// Operation code.
    pub operation: i8,
    /// Permission type code.
    pub permission_type: i8,
}

/// A DescribeAcls / DeleteAcls filter (`None` = any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclFilter {
    /// Resource type code (1 = any).
    pub resource_type: i8,
    /// Name, or any.
    pub resource_name: Option<String>,
    /// Pattern type code (1 = any, 2 = match).
    pub pattern_type: i8,
    /// Principal, or any.
    pub principal: Option<String>,
    /// Host, or any.
    pub host: Option<String>,
    /// Operation code (1 = any).
    pub operation: i8,
    /// Permission type code (1 = any).
    pub permission_type: i8,
}

fn pattern(r: &mut Reader<'_>, version: i16) -> Result<i8, DecodeError> {
    if version >= 1 {
        r.i8("pattern_type")
    } else {
        Ok(LITERAL)
    }
}

fn write_pattern(w: &mut Writer, version: i16, p: i8) {
    if version >= 1 {
        w.i8(p);
    }
}

impl AclBinding {
    fn read(r: &mut Reader<'_>, version: i16) -> Result<AclBinding, DecodeError> {
        Ok(AclBinding {
            resource_type: r.i8("resource_type")?,
            resource_name: r.str("resource_name")?,
            pattern_type: pattern(r, version)?,
            principal: r.str("principal")?,
            host: r.str("host")?,
            operation: r.i8("operation")?,
            permission_type: r.i8("permission_type")?,
        })
    }

    fn write(&self, w: &mut Writer, version: i16) {
        w.i8(self.resource_type);
        w.str(&self.resource_name);
        write_pattern(w, version, self.pattern_type);
        w.str(&self.principal);
        w.str(&self.host);
        w.i8(self.operation);
        w.i8(self.permission_type);
    }
}

impl AclFilter {
    /// Reads a filter (no tags).
    pub fn read(r: &mut Reader<'_>, version: i16) -> Result<AclFilter, DecodeError> {
        Ok(AclFilter {
            resource_type: r.i8("resource_type")?,
            resource_name: r.nstr("resource_name")?,
            pattern_type: pattern(r, version)?,
            principal: r.nstr("principal")?,
            host: r.nstr("host")?,
            operation: r.i8("operation")?,
            permission_type: r.i8("permission_type")?,
        })
    }

    /// Writes a filter (no tags).
    pub fn write(&self, w: &mut Writer, version: i16) {
        w.i8(self.resource_type);
        w.nstr(self.resource_name.as_deref());
        write_pattern(w, version, self.pattern_type);
        w.nstr(self.principal.as_deref());
        w.nstr(self.host.as_deref());
        w.i8(self.operation);
        w.i8(self.permission_type);
    }
}

/// Decodes a CreateAcls request.
pub fn decode_create(r: &mut Reader<'_>, version: i16) -> Result<Vec<AclBinding>, DecodeError> {
    let out = r.array("creations", |r| {
        let b = AclBinding::read(r, version)?;
        r.tags()?;
        Ok(b)
    })?;
    r.tags()?;
    Ok(out)
}

/// Encodes a CreateAcls request (clients, tests).
pub fn encode_create(w: &mut Writer, version: i16, creations: &[AclBinding]) {
    w.array(creations, |w, b| {
        b.write(w, version);
        w.tags();
    });
    w.tags();
}

/// Encodes a CreateAcls response: (error code, message) per creation.
pub fn encode_create_response(w: &mut Writer, results: &[(i16, Option<String>)]) {
    w.i32(0);
    w.array(results, |w, (c, m)| {
        w.i16(*c);
        w.nstr(m.as_deref());
        w.tags();
    });
    w.tags();
}

/// Decodes a CreateAcls response (clients, tests).
pub fn decode_create_response(
    r: &mut Reader<'_>,
) -> Result<Vec<(i16, Option<String>)>, DecodeError> {
    r.i32("throttle_time_ms")?;
    let out = r.array("results", |r| {
        let x = (r.i16("error_code")?, r.nstr("error_message")?);
        r.tags()?;
        Ok(x)
    })?;
    r.tags()?;
    Ok(out)
}

/// Decodes a DescribeAcls request.
pub fn decode_describe(r: &mut Reader<'_>, version: i16) -> Result<AclFilter, DecodeError> {
    let f = AclFilter::read(r, version)?;
    r.tags()?;
    Ok(f)
}

/// Encodes a DescribeAcls request (clients, tests).
pub fn encode_describe(w: &mut Writer, version: i16, filter: &AclFilter) {
    filter.write(w, version);
    w.tags();
}

/// A DescribeAcls response: top-level error and the bindings found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeResponse {
    /// Error code.
    pub error_code: i16,
    /// Why.
    pub error_message: Option<String>,
    /// The bindings, grouped by resource on the wire.
    pub bindings: Vec<AclBinding>,
}

type ResourceKey = (i8, String, i8);

/// Groups bindings by (type, name, pattern) in first-seen order.
fn by_resource(bindings: &[AclBinding]) -> Vec<(ResourceKey, Vec<&AclBinding>)> {
    let mut out: Vec<(ResourceKey, Vec<&AclBinding>)> = Vec::new();
    for b in bindings {
        let key = (b.resource_type, b.resource_name.clone(), b.pattern_type);
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(b),
            None => out.push((key, vec![b])),
        }
    }
    out
}

/// Encodes a DescribeAcls response.
pub fn encode_describe_response(w: &mut Writer, version: i16, resp: &DescribeResponse) {
    w.i32(0);
    w.i16(resp.error_code);
    w.nstr(resp.error_message.as_deref());
    w.array(&by_resource(&resp.bindings), |w, ((t, n, p), acls)| {
        w.i8(*t);
        w.str(n);
        write_pattern(w, version, *p);
        w.array(acls, |w, b| {
            w.str(&b.principal);
            w.str(&b.host);
            w.i8(b.operation);
            w.i8(b.permission_type);
            w.tags();
        });
        w.tags();
    });
    w.tags();
}

/// Decodes a DescribeAcls response (clients, tests).
pub fn decode_describe_response(
    r: &mut Reader<'_>,
    version: i16,
) -> Result<DescribeResponse, DecodeError> {
    r.i32("throttle_time_ms")?;
    let error_code = r.i16("error_code")?;
    let error_message = r.nstr("error_message")?;
    let groups = r.array("resources", |r| {
        let t = r.i8("resource_type")?;
        let n = r.str("resource_name")?;
        let p = pattern(r, version)?;
        let acls = r.array("acls", |r| {
            let b = AclBinding {
                resource_type: t,
                resource_name: n.clone(),
                pattern_type: p,
                principal: r.str("principal")?,
                host: r.str("host")?,
                operation: r.i8("operation")?,
                permission_type: r.i8("permission_type")?,
            };
            r.tags()?;
            Ok(b)
        })?;
        r.tags()?;
        Ok(acls)
    })?;
    r.tags()?;
    Ok(DescribeResponse {
        error_code,
        error_message,
        bindings: groups.into_iter().flatten().collect(),
    })
}

/// Decodes a DeleteAcls request.
pub fn decode_delete(r: &mut Reader<'_>, version: i16) -> Result<Vec<AclFilter>, DecodeError> {
    let out = r.array("filters", |r| {
        let f = AclFilter::read(r, version)?;
        r.tags()?;
        Ok(f)
    })?;
    r.tags()?;
    Ok(out)
}

/// Encodes a DeleteAcls request (clients, tests).
pub fn encode_delete(w: &mut Writer, version: i16, filters: &[AclFilter]) {
    w.array(filters, |w, f| {
        f.write(w, version);
        w.tags();
    });
    w.tags();
}

/// One DeleteAcls filter's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteResult {
    /// Error code of the filter.
    pub error_code: i16,
    /// Why.
    pub error_message: Option<String>,
    /// The bindings removed (each with error 0).
    pub matching: Vec<AclBinding>,
}

/// Encodes a DeleteAcls response.
pub fn encode_delete_response(w: &mut Writer, version: i16, results: &[DeleteResult]) {
    w.i32(0);
    w.array(results, |w, r| {
        w.i16(r.error_code);
        w.nstr(r.error_message.as_deref());
        w.array(&r.matching, |w, b| {
            w.i16(0);
            w.nstr(None);
            b.write(w, version);
            w.tags();
        });
        w.tags();
    });
    w.tags();
}

/// Decodes a DeleteAcls response (clients, tests).
pub fn decode_delete_response(
    r: &mut Reader<'_>,
    version: i16,
) -> Result<Vec<DeleteResult>, DecodeError> {
    r.i32("throttle_time_ms")?;
    let out = r.array("filter_results", |r| {
        let error_code = r.i16("error_code")?;
        let error_message = r.nstr("error_message")?;
        let matching = r.array("matching_acls", |r| {
            r.i16("error_code")?;
            r.nstr("error_message")?;
            let b = AclBinding::read(r, version)?;
            r.tags()?;
            Ok(b)
        })?;
        r.tags()?;
        Ok(DeleteResult {
            error_code,
            error_message,
            matching,
        })
    })?;
    r.tags()?;
    Ok(out)
}
